// Piscina task: counts the texts of one prompt plan off the main thread. Encoders load once per
// worker per encoding (see src/tokens/encoders.ts) and stay for the worker's life.
import { countTextsTokens } from '../src/tokens/count-text.js';
import type { TextEncoding } from '../src/tokens/encoders.js';

export interface TokenizeTask {
  readonly texts: readonly string[];
  readonly encoding: TextEncoding;
}

export default function tokenize(task: TokenizeTask): number {
  return countTextsTokens(task.texts, task.encoding);
}
