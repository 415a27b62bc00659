// gpt-tokenizer (what the gateway counts with) against @dqbd/tiktoken (OpenAI's Rust tokenizer
// compiled to WASM, the reference) on a generated corpus, for every encoding: a tokenizer upgrade
// that changes a single token fails here instead of drifting budgets silently.
import { get_encoding, type Tiktoken } from '@dqbd/tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/tokens/count-text.js';
import { getEncoder, textEncodings } from '../../src/tokens/encoders.js';

// Seeded, so a failure names a sample that can be reproduced.
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const unicode = [
  '東京', '日本語のテキスト', '中文字符', '한국어', 'Привет, мир', 'Ελληνικά', 'مرحبا بالعالم', 'שלום', 'नमस्ते दुनिया', 'ภาษาไทย',
  'naïve café', 'Ångström', 'e\u0301\u0301', 'Z\u0351\u0364a\u036ble\u0364', '🙂', '👩‍👩‍👧‍👦', '👍🏽', '🇫🇷🇯🇵', '∀x∈ℝ: x²≥0', '€£¥₿', '\u200b', '\ufeff',
];
const words = ['the', 'The', 'budget', 'token', 'Tollgate', "don't", "IT'S", "we'll", "they'RE", 'x', 'HTTP', 'über', 'co-operate', 'e-mail'];
const code = [
  'function f(x) {\n  return x * 2;\n}\n', 'def main():\n\tprint("hi")\n', 'SELECT * FROM usage_events WHERE org_id = $1;',
  '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}', 'fn main() -> Result<(), Box<dyn Error>> { Ok(()) }',
  '<div class="a">&nbsp;</div>', 'const re = /^[a-z_]\\w*$/giu;', '#include <stdio.h>', '    if (a != b && c >= d) {}',
];
// U+FEFF and U+0085 are where JavaScript's \s and tiktoken's differ (see src/tokens/encoders.ts).
const whitespace = [' ', '  ', '   ', '\t', '\t\t', '\n', '\n\n', '\r\n', ' \n ', '\u00a0', '\u3000', '          ', '\ufeff', '\u0085', ' \ufeff', '\u2028', '\u000b'];
const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|im_sep|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|endofprompt|>', '<|endof', '|>', '<|'];

function sample(next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const parts: string[] = [];
  const length = 1 + Math.floor(next() * 40);
  for (let i = 0; i < length; i++) {
    const kind = next();
    if (kind < 0.25) parts.push(pick(words));
    else if (kind < 0.4) parts.push(pick(unicode));
    else if (kind < 0.5) parts.push(pick(code));
    else if (kind < 0.7) parts.push(pick(whitespace));
    else if (kind < 0.77) parts.push(pick(specials));
    else if (kind < 0.85) parts.push(String(Math.floor(next() * 10 ** (1 + Math.floor(next() * 12)))));
    else if (kind < 0.93) parts.push(String.fromCharCode(32 + Math.floor(next() * 95)).repeat(1 + Math.floor(next() * 3)));
    // Any BMP code point outside the surrogate range.
    else parts.push(String.fromCodePoint(Math.floor(next() * 0xd7ff) + 1));
  }
  return parts.join(next() < 0.5 ? ' ' : '');
}

const samplesPerEncoding = 1500;
const fixedSamples = [
  '', ' ', 'a'.repeat(5000), ' '.repeat(1000), '\n'.repeat(300), '1234567890'.repeat(50), 'quote: <|endoftext|>',
  '\ufeff# README', 'x \ufeffy', '\ufeff\ufeff', 'a \u0085b', 'x\u0085\u0085 y', '!\u0085?',
];

const references = new Map<string, Tiktoken>();
afterAll(() => references.forEach((encoding) => encoding.free()));

describe.each(textEncodings)('gpt-tokenizer matches tiktoken on %s', (encoding) => {
  const reference = get_encoding(encoding);
  references.set(encoding, reference);
  const plainText = { disallowedSpecial: new Set<string>() };

  it(`gives the same tokens for ${samplesPerEncoding} generated samples and the edge cases`, () => {
    const next = rng(0x7011_6a7e);
    const corpus = [...fixedSamples, ...Array.from({ length: samplesPerEncoding }, () => sample(next))];
    let mismatches = 0;
    for (const [i, text] of corpus.entries()) {
      const expected = Array.from(reference.encode_ordinary(text));
      const actual = getEncoder(encoding).encode(text, plainText);
      if (actual.length !== expected.length || actual.some((token, j) => token !== expected[j])) {
        mismatches += 1;
        expect.soft(actual, `sample ${i}: ${JSON.stringify(text).slice(0, 200)}`).toEqual(expected);
      }
      expect(countTextTokens(text, encoding)).toBe(expected.length);
    }
    expect(mismatches).toBe(0);
  });
});
