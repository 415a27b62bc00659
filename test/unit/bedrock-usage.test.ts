// Bedrock usage from Converse answers and ConverseStream's AWS event stream: the same totals whether
// the binary stream arrives whole, one byte at a time or in random slices; the metadata event
// closes the count; cache reads and writes are added to inputTokens, which leaves them out.
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { describe, expect, it } from 'vitest';
import { bedrock } from '../../src/providers/bedrock/index.js';
import { createEventStreamSplitter, parseEventStreamMessage } from '../../src/providers/bedrock/event-stream.js';
import { usageFromBody } from '../../src/providers/bedrock/usage.js';
import type { SseEvent } from '../../src/proxy/sse.js';
import { bytewise, cuts, randomSlices, slices, whole } from './byte-slices.js';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

const frame = (eventType: string, payload: unknown): Buffer =>
  Buffer.from(
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: Buffer.from(JSON.stringify(payload)),
    }),
  );

// Shapes as Bedrock sends them (Claude 3.5 Sonnet v2, a cached system prompt): payloads padded
// with `p`, usage only in the closing metadata event.
const events: Array<[string, unknown]> = [
  ['messageStart', { p: 'abcdefghijk', role: 'assistant' }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Héllo' }, p: 'abcdef' }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: ' wörld ✓' }, p: 'abcdefghijklmnopqrstu' }],
  ['contentBlockStop', { contentBlockIndex: 0, p: 'abcdefghijklmnopq' }],
  ['contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { name: 'weather', toolUseId: 'tooluse_1' } }, p: 'ab' }],
  ['contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":"Paris"}' } }, p: 'abcd' }],
  ['contentBlockStop', { contentBlockIndex: 1, p: 'abcdefgh' }],
  ['messageStop', { stopReason: 'tool_use', p: 'abcdefghijklmnopqrstuvwxyz' }],
  ['metadata', { metrics: { latencyMs: 812 }, p: 'abcdefghijklmn', usage: { inputTokens: 26, outputTokens: 41, totalTokens: 3117, cacheReadInputTokens: 2048, cacheWriteInputTokens: 1002 } }],
];
const stream = Buffer.concat(events.map(([type, payload]) => frame(type, payload)));
const finalUsage = { promptTokens: 3076, cachedTokens: 2048, cacheWriteTokens: 1002, completionTokens: 41, reasoningTokens: 0 };

function read(bytes: Buffer, cut: (n: number) => number[], maxMessageBytes?: number) {
  const splitter = createEventStreamSplitter(maxMessageBytes);
  const reader = bedrock.streamUsageReader('converseStream');
  const parsed: SseEvent[] = [];
  const relayed: Buffer[] = [];
  for (const slice of slices(bytes, cut)) {
    for (const raw of splitter.push(slice)) {
      relayed.push(raw);
      if (splitter.isOversized(raw)) continue;
      const event = parseEventStreamMessage(raw);
      parsed.push(event);
      reader.onEvent(event);
    }
  }
  return { splitter, reader, parsed, relayed };
}

describe('ConverseStream event stream', () => {
  it.each(cuts)('gives the metadata event’s usage fed %s', (_label, cut) => {
    const { splitter, reader, parsed, relayed } = read(stream, cut);
    expect(reader.usage()).toEqual(finalUsage);
    expect(reader.final()).toBe(true);
    expect(parsed.map((e) => e.event)).toEqual(events.map(([type]) => type));
    expect(splitter.pending().length).toBe(0);
    // What the splitter hands on is the stream, byte for byte.
    expect(Buffer.concat(relayed).equals(stream)).toBe(true);
    expect(bedrock.deliveredText('converseStream', parsed, undefined)).toBe('Héllo wörld ✓{"city":"Paris"}');
  });

  it('has no usage, and is not final, until the metadata event arrives', () => {
    const { reader } = read(stream.subarray(0, stream.length - frame(...events.at(-1)!).length), whole);
    expect(reader.usage()).toBeUndefined();
    expect(reader.final()).toBe(false);
  });

  it('hands an oversized message on unparsed, byte for byte, and finds the messages after it', () => {
    const big = frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x'.repeat(5_000) } });
    const bytes = Buffer.concat([big, stream]);
    for (const cut of [whole, bytewise, randomSlices(3)]) {
      const { reader, relayed, parsed } = read(bytes, cut, 1_024);
      expect(Buffer.concat(relayed).equals(bytes)).toBe(true);
      expect(parsed).toHaveLength(events.length);
      expect(reader.usage()).toEqual(finalUsage);
    }
  });

  it('reads a message whose CRC does not check out as no event, and a length that cannot be a message as lost framing', () => {
    const corrupt = Buffer.from(frame('metadata', { usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }));
    corrupt[corrupt.length - 6] = corrupt[corrupt.length - 6]! ^ 0xff;
    expect(parseEventStreamMessage(corrupt)).toEqual({ event: undefined, data: '' });
    const badPrelude = Buffer.from(frame('metadata', {}));
    badPrelude[5] = badPrelude[5]! ^ 0x01;
    expect(parseEventStreamMessage(badPrelude)).toEqual({ event: undefined, data: '' });
    const garbage = Buffer.concat([Buffer.from([0, 0, 0, 3]), stream]);
    const { parsed, relayed } = read(garbage, whole);
    expect(parsed).toHaveLength(0);
    expect(Buffer.concat(relayed).equals(garbage)).toBe(true);
  });

  it('reads the event name past headers of every type the encoding has, as the reference codec wrote them', () => {
    const raw = Buffer.from(
      codec.encode({
        headers: {
          flag: { type: 'boolean', value: true },
          off: { type: 'boolean', value: false },
          small: { type: 'byte', value: 7 },
          medium: { type: 'short', value: 300 },
          count: { type: 'integer', value: 70_000 },
          blob: { type: 'binary', value: new Uint8Array([1, 2, 3]) },
          at: { type: 'timestamp', value: new Date(0) },
          id: { type: 'uuid', value: '123e4567-e89b-12d3-a456-426614174000' },
          ':event-type': { type: 'string', value: 'metadata' },
          ':message-type': { type: 'string', value: 'event' },
        },
        body: Buffer.from('{"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7}}'),
      }),
    );
    expect(parseEventStreamMessage(raw)).toEqual({ event: 'metadata', data: '{"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7}}' });
    const exception = Buffer.from(codec.encode({ headers: { ':message-type': { type: 'string', value: 'exception' }, ':exception-type': { type: 'string', value: 'throttlingException' } }, body: Buffer.from('{"message":"slow down"}') }));
    expect(parseEventStreamMessage(exception)).toEqual({ event: 'throttlingException', data: '{"message":"slow down"}' });
  });

  it('never lets a later, smaller metadata report lower the bill', () => {
    const reader = bedrock.streamUsageReader('converseStream');
    reader.onEvent({ event: 'metadata', data: JSON.stringify({ usage: { inputTokens: 100, outputTokens: 50, totalTokens: 150 } }) });
    reader.onEvent({ event: 'metadata', data: JSON.stringify({ usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }) });
    expect(reader.usage()).toMatchObject({ promptTokens: 100, completionTokens: 50 });
  });

  it('ignores usage in any event but metadata', () => {
    const reader = bedrock.streamUsageReader('converseStream');
    reader.onEvent({ event: 'contentBlockDelta', data: JSON.stringify({ usage: { inputTokens: 9, outputTokens: 9, totalTokens: 18 } }) });
    expect(reader.usage()).toBeUndefined();
  });
});

describe('Converse answer', () => {
  it('reads usage with cache reads and writes added to the prompt', () => {
    const body = {
      metrics: { latencyMs: 512 },
      output: { message: { content: [{ text: 'Bonjour' }], role: 'assistant' } },
      stopReason: 'end_turn',
      usage: { inputTokens: 26, outputTokens: 41, totalTokens: 3117, cacheReadInputTokens: 2048, cacheWriteInputTokens: 1002 },
    };
    expect(usageFromBody(body)).toEqual(finalUsage);
    expect(bedrock.deliveredText('converse', undefined, body)).toBe('Bonjour');
  });

  it('trusts totalTokens over a smaller sum of its parts', () => {
    expect(usageFromBody({ usage: { inputTokens: 5, outputTokens: 10, totalTokens: 100 } })).toMatchObject({ promptTokens: 90, completionTokens: 10 });
  });

  it('has no usage when the answer carries none', () => {
    expect(usageFromBody({ output: { message: { content: [] } } })).toBeUndefined();
  });
});
