// Counts the tokens of plain text with gpt-tokenizer. Shared by the main thread and the worker.
import { getEncoder, type TextEncoding } from './encoders.js';

// Special-token text such as "<|endoftext|>" in a prompt is ordinary text to the provider (the
// API never lets clients inject control tokens), and gpt-tokenizer's default would throw on it,
// turning any prompt that quotes one into a 500.
const asPlainText = { disallowedSpecial: new Set<string>() };

export function countTextTokens(text: string, encoding: TextEncoding): number {
  if (text.length === 0) return 0;
  return getEncoder(encoding).countTokens(text, asPlainText);
}

export function countTextsTokens(texts: readonly string[], encoding: TextEncoding): number {
  let tokens = 0;
  for (const text of texts) tokens += countTextTokens(text, encoding);
  return tokens;
}

// Never fewer than the exact count, at the cost of one pass over the text: every token of a
// byte-level BPE encoding stands for at least one UTF-8 byte (special-token text included, as it
// is counted as plain text). Charged when an exact count cannot be had in time.
export function upperBoundTokens(texts: readonly string[]): number {
  let bytes = 0;
  for (const text of texts) bytes += Buffer.byteLength(text, 'utf8');
  return bytes;
}
