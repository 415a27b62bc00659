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
