import { describe, expect, it } from 'vitest';
import { parseUsageEvent, usageEventSchema } from '../../src/usage/event.js';

const event = {
  requestId: 'r1', timeMs: 1_700_000_000_000, orgId: 'org_1', teamId: null, userId: 'u1', keyId: 'k1', provider: 'openai', model: 'gpt-4o-mini',
  promptTokens: 12, cachedTokens: 0, completionTokens: 5, reasoningTokens: 0, costMicros: 7, status: 200, errorCode: null, stream: false,
  latencyMs: 3, ttfbMs: null, estimated: false, unmetered: false, maxTokensUnstated: true, sessionId: null, tags: { env: 'prod' },
};
const values: unknown[] = [undefined, null, true, 0, 1, -1, 1.5, 2 ** 53, '', 'x', [], {}, { a: 1 }];
const variants: unknown[] = [null, [], 'text', event, { ...event, extra: 1 }];
for (const field of Object.keys(event)) {
  for (const value of values) variants.push({ ...event, [field]: value });
  const { [field as keyof typeof event]: _, ...without } = event;
  variants.push(without);
}

describe('usage events read by the flusher', () => {
  it('parse exactly as the schema does, for well-formed and malformed events alike', () => {
    for (const v of variants) {
      const expected = usageEventSchema.safeParse(v);
      expect(parseUsageEvent(v), JSON.stringify(v)).toEqual(expected.success ? expected.data : undefined);
    }
  });

  it('fill the defaults of fields older entries lack', () => {
    const { unmetered: _u, maxTokensUnstated: _m, ...old } = event;
    expect(parseUsageEvent(old)).toMatchObject({ unmetered: false, maxTokensUnstated: false });
  });
});
