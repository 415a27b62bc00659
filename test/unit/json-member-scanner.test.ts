// The usage scan of answers too large to keep must find the top-level member however the bytes
// are cut, and never a look-alike quoted inside the model's text.
import { describe, expect, it } from 'vitest';
import { createMemberScanner } from '../../src/proxy/json-member-scanner.js';

function scan(text: string, size: number, maxValueBytes?: number): unknown {
  const scanner = createMemberScanner('usage', maxValueBytes);
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += size) scanner.push(bytes.subarray(at, at + size));
  return scanner.value();
}

const usage = { prompt_tokens: 10, completion_tokens: 4_000_000, completion_tokens_details: { reasoning_tokens: 3 } };
const forged = '\\"usage\\":{\\"prompt_tokens\\":0}';

describe('createMemberScanner', () => {
  const body = JSON.stringify({ id: 'x', choices: [{ message: { content: `é ${forged} "q" \\ end`, usage: { fake: 1 } } }], usage, system_fingerprint: 'fp' });
  it.each([1, 2, 3, 7, 64, body.length])('finds the top-level member fed %i bytes at a time', (size) => {
    expect(scan(body, size)).toEqual(usage);
  });

  it('ignores a member that exists only inside strings or nested objects', () => {
    expect(scan(JSON.stringify({ content: `"usage":{"prompt_tokens":0}`, nested: { usage: { a: 1 } } }), 5)).toBeUndefined();
  });

  it('gives up on a value larger than its bound', () => {
    expect(scan(JSON.stringify({ usage: { pad: 'x'.repeat(100) } }), 3, 50)).toBeUndefined();
  });

  it('reads a member that is last and a scalar', () => {
    expect(scan('{"a":[1,{"usage":2}],"usage" : null}', 1)).toBeNull();
  });
});
