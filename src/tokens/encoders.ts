// Owns the gpt-tokenizer encoders: one per encoding per thread, loaded on first use, because each
// costs 60–150 ms and tens of MB to build and most deployments only ever use one or two encodings.
import { createRequire } from 'node:module';
import type { Encoding } from '../config/catalog.js';
import { withLinearMerge } from './linear-merge.js';
import { alignWithTiktoken } from './tiktoken-compat.js';

export type TextEncoding = Exclude<Encoding, 'estimate'>;
type Encoder = typeof import('gpt-tokenizer/encoding/o200k_base');

export const textEncodings: readonly TextEncoding[] = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'];

// require, not import(): the hot path counts small prompts synchronously, so loading must be too.
const require = createRequire(import.meta.url);
const loaded = new Map<TextEncoding, Encoder>();

export function getEncoder(encoding: TextEncoding): Encoder {
  let encoder = loaded.get(encoding);
  if (!encoder) {
    encoder = require(`gpt-tokenizer/encoding/${encoding}`) as Encoder;
    alignWithTiktoken(encoder);
    withLinearMerge(encoder);
    loaded.set(encoding, encoder);
  }
  return encoder;
}
