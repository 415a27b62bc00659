// Realtime responses' money math against the shipped catalog: the per-response worst case a
// session holds, the charge from a `response.done` usage (audio and cached reads priced apart),
// and OpenAI's reader of those events, which must never let a malformed breakdown lower a charge.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mockRealtimeUsage } from '../../bench/mock-realtime.js';
import { loadConfig } from '../../src/config/load.js';
import { realtimeCharge, realtimeReserve } from '../../src/metering/media-price.js';
import { openaiRealtime } from '../../src/providers/openai/realtime.js';
import type { RealtimeUsage } from '../../src/providers/realtime.js';

const catalog = loadConfig({ env: {}, overrides: {} }).catalog;
const model = (name: string) => catalog.resolve(name)!;
const frame = (event: unknown) => Buffer.from(JSON.stringify(event));
const done = (usage: unknown) => frame({ type: 'response.done', event_id: 'event_1', response: { object: 'realtime.response', id: 'resp_1', status: 'completed', usage } });
const usageOf = (usage: unknown): RealtimeUsage => {
  const event = openaiRealtime.responseEvent(done(usage));
  if (event?.kind !== 'finished' || !event.usage) throw new Error('no usage read');
  return event.usage;
};

describe('realtime prices', () => {
  it('reserves the whole context at the dearest input rate and the output cap at the dearest output rate', () => {
    // gpt-realtime: 32,000 x $32 (audio in) + 4,096 x $64 (audio out) per 1M tokens.
    expect(realtimeReserve(model('gpt-realtime'))).toEqual({ promptTokens: 32_000, completionTokens: 4_096, costMicros: 1_024_000 + 262_144 });
    // The preview: 32,000 x $40 + 4,096 x $80.
    expect(realtimeReserve(model('gpt-4o-realtime-preview')).costMicros).toBe(1_280_000 + 327_680);
  });

  it('prices text, audio and cached reads at their own rates', () => {
    const usage = usageOf(mockRealtimeUsage({ text_in: '1000', audio_in: '2000', cached_text: '500', cached_audio: '1000', text_out: '100', audio_out: '400' }));
    // 500 x $4 + 500 x $0.40 + 1000 x $32 + 1000 x $0.40 + 100 x $16 + 400 x $64, per 1M.
    expect(realtimeCharge(model('gpt-realtime'), usage)).toEqual({ promptTokens: 3000, cachedTokens: 1500, completionTokens: 500, costMicros: 2000 + 200 + 32_000 + 400 + 1600 + 25_600 });
  });

  it('charges input and output the breakdown does not place at the dearest rate', () => {
    const usage = usageOf({ input_tokens: 1000, output_tokens: 100 });
    expect(realtimeCharge(model('gpt-realtime'), usage).costMicros).toBe(1000 * 32 + 100 * 64);
  });

  it('never charges less than the totals at the cheapest rates, whatever the breakdown says', () => {
    const details = fc.record({ text_tokens: fc.integer({ min: -5, max: 5000 }), audio_tokens: fc.integer({ min: -5, max: 5000 }), image_tokens: fc.integer({ min: 0, max: 5000 }), cached_tokens: fc.integer({ min: 0, max: 5000 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), details, fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 0, max: 9000 }), (input, output, d, cached, outAudio) => {
        const usage = usageOf({
          input_tokens: input,
          output_tokens: output,
          input_token_details: { ...d, cached_tokens_details: { text_tokens: cached, audio_tokens: cached } },
          output_token_details: { text_tokens: output - outAudio, audio_tokens: outAudio },
        });
        const charge = realtimeCharge(model('gpt-realtime'), usage);
        expect(charge.promptTokens).toBe(input);
        expect(charge.completionTokens).toBe(output);
        // The cheapest input rate is a cached read ($0.40), the cheapest output rate text ($16).
        expect(charge.costMicros).toBeGreaterThanOrEqual(Math.floor((input * 400_000 + output * 16_000_000) / 1_000_000));
      }),
    );
  });
});

describe("OpenAI's realtime events", () => {
  it('tells a response starting and finishing from every other event without a parse of audio frames', () => {
    expect(openaiRealtime.responseEvent(frame({ type: 'response.created', response: { id: 'resp_1' } }))).toEqual({ kind: 'started' });
    expect(openaiRealtime.responseEvent(frame({ type: 'response.output_audio.delta', delta: 'AAAA' }))).toBeUndefined();
    expect(openaiRealtime.responseEvent(done(null))).toEqual({ kind: 'finished', usage: undefined });
    // The name inside text is escaped, so it is not mistaken for the event's type.
    expect(openaiRealtime.responseEvent(frame({ type: 'response.output_text.delta', delta: 'say "response.done"' }))).toBeUndefined();
  });

  it('forwards the protocol subprotocols and never a credential', () => {
    expect(openaiRealtime.forwardedSubprotocols(['realtime', 'openai-insecure-api-key.tg-secret', 'openai-organization.org-1', 'openai-beta.realtime-v1'])).toEqual(['realtime', 'openai-beta.realtime-v1']);
  });
});
