// Usage extraction from recorded streams must not depend on how the bytes are cut: the same
// totals whether the stream arrives whole, one byte at a time, or in random slices.
import { describe, expect, it } from 'vitest';
import { anthropic } from '../../src/providers/anthropic/index.js';
import { openai } from '../../src/providers/openai/index.js';
import type { Provider } from '../../src/providers/provider.js';
import type { Endpoint } from '../../src/providers/types.js';
import { createSseSplitter, parseSseEvent } from '../../src/proxy/sse.js';
import { anthropicMessages, openaiChatWithUsage, openaiResponses } from '../fixtures/streams.js';
import { bytewise, cuts, randomSlices, whole } from './byte-slices.js';

function readUsage(provider: Provider, endpoint: Endpoint, bytes: Buffer, cut: (n: number) => number[]) {
  const splitter = createSseSplitter();
  const reader = provider.streamUsageReader(endpoint);
  const events: string[] = [];
  let at = 0;
  for (const size of cut(bytes.length)) {
    for (const raw of splitter.push(bytes.subarray(at, at + size))) {
      events.push(raw.toString('utf8'));
      reader.onEvent(parseSseEvent(raw));
    }
    at += size;
  }
  return { usage: reader.usage(), final: reader.final(), events, rest: splitter.pending().length };
}


const cases = [
  { name: 'OpenAI chat with include_usage', provider: openai, endpoint: 'chat' as const, stream: openaiChatWithUsage, events: 5, usage: { promptTokens: 19, cachedTokens: 2, cacheWriteTokens: 0, completionTokens: 4, reasoningTokens: 1 } },
  { name: 'OpenAI Responses', provider: openai, endpoint: 'responses' as const, stream: openaiResponses, events: 3, usage: { promptTokens: 36, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 87, reasoningTokens: 64 } },
  { name: 'Anthropic messages (CRLF framing)', provider: anthropic, endpoint: 'messages' as const, stream: anthropicMessages, events: 7, usage: { promptTokens: 525, cachedTokens: 400, cacheWriteTokens: 100, completionTokens: 15, reasoningTokens: 0 } },
];

describe.each(cases)('$name', ({ provider, endpoint, stream, events, usage }) => {
  const bytes = Buffer.from(stream, 'utf8');
  it.each([...cuts])('gives the same usage fed %s', (_label, cut) => {
    const result = readUsage(provider, endpoint, bytes, cut);
    expect(result.usage).toEqual(usage);
    expect(result.events).toHaveLength(events);
    expect(result.rest).toBe(0);
    expect(result.events.join('')).toBe(stream);
  });
});

describe('the usage chunk the gateway asked for', () => {
  it('is recognised, and content chunks are not', () => {
    const splitter = createSseSplitter();
    const flags = splitter.push(Buffer.from(openaiChatWithUsage)).map((raw) => openai.isUsageOnlyEvent(parseSseEvent(raw)));
    expect(flags).toEqual([false, false, false, true, false]);
  });
});

describe('text delivered without usage', () => {
  it('is collected from chat deltas so it can be counted', () => {
    const events = createSseSplitter().push(Buffer.from(openaiChatWithUsage)).map(parseSseEvent);
    expect(openai.deliveredText('chat', events, undefined)).toBe('Héllo ✓');
  });

  it('is collected from Anthropic text deltas', () => {
    const events = createSseSplitter().push(Buffer.from(anthropicMessages)).map(parseSseEvent);
    expect(anthropic.deliveredText('messages', events, undefined)).toBe('Hello');
  });
});

// An upstream may report usage more than once; a later, smaller report (zeros after the full one)
// must not lower the bill, so the readers keep, per kind of token, the most any report said.
const sse = (lines: readonly string[]) => lines.map((l) => `${l}\n\n`).join('');
const chatUsage = (usage: object) => `data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":${JSON.stringify(usage)}}`;
const completed = (usage: object) => `event: response.completed\ndata: {"type":"response.completed","response":{"id":"r","status":"completed","usage":${JSON.stringify(usage)}}}`;
const zeros = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
const laterSmaller = [
  {
    name: 'OpenAI chat: a zeroed usage chunk after the full one',
    provider: openai,
    endpoint: 'chat' as const,
    stream: openaiChatWithUsage.replace('data: [DONE]', `${chatUsage(zeros)}\n\ndata: [DONE]`),
    usage: { promptTokens: 19, cachedTokens: 2, cacheWriteTokens: 0, completionTokens: 4, reasoningTokens: 1 },
  },
  {
    name: 'OpenAI chat: {prompt 0, completion 1} then zeros',
    provider: openai,
    endpoint: 'chat' as const,
    stream: sse([chatUsage({ prompt_tokens: 0, completion_tokens: 1, total_tokens: 1 }), chatUsage(zeros), 'data: [DONE]']),
    usage: { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 1, reasoningTokens: 0 },
  },
  {
    name: 'OpenAI completions: a zeroed usage chunk after the full one',
    provider: openai,
    endpoint: 'completions' as const,
    stream: sse([
      'data: {"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":"Hi","finish_reason":"stop"}],"usage":null}',
      'data: {"id":"cmpl-1","object":"text_completion","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}',
      'data: {"id":"cmpl-1","object":"text_completion","choices":[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}',
      'data: [DONE]',
    ]),
    usage: { promptTokens: 12, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 5, reasoningTokens: 0 },
  },
  {
    name: 'OpenAI Responses: a second response.completed with zeros',
    provider: openai,
    endpoint: 'responses' as const,
    stream: `${openaiResponses}${sse([completed({ input_tokens: 0, output_tokens: 0, total_tokens: 0 })])}`,
    usage: { promptTokens: 36, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 87, reasoningTokens: 64 },
  },
  {
    name: 'Anthropic messages: a message_delta with zeroed input and output after the final count',
    provider: anthropic,
    endpoint: 'messages' as const,
    stream: anthropicMessages.replace(
      'event: message_stop',
      'event: message_delta\r\ndata: {"type":"message_delta","delta":{},"usage":{"output_tokens":0,"input_tokens":0}}\r\n\r\nevent: message_stop',
    ),
    usage: { promptTokens: 525, cachedTokens: 400, cacheWriteTokens: 100, completionTokens: 15, reasoningTokens: 0 },
  },
  {
    // Cached tokens are a discount: two reports that disagree on which input tokens were cached
    // are charged as if both kinds were consumed, never as the cheaper reading of the same tokens.
    name: 'OpenAI chat: the same prompt reported again as all cached',
    provider: openai,
    endpoint: 'chat' as const,
    stream: sse([
      chatUsage({ prompt_tokens: 100, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 0 } }),
      chatUsage({ prompt_tokens: 100, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 100 } }),
      'data: [DONE]',
    ]),
    usage: { promptTokens: 200, cachedTokens: 100, cacheWriteTokens: 0, completionTokens: 3, reasoningTokens: 0 },
  },
];

describe.each(laterSmaller)('$name', ({ provider, endpoint, stream, usage }) => {
  it.each([
    ['whole', whole],
    ['one byte at a time', bytewise],
    ['random slices', randomSlices(13)],
  ])('keeps the larger report, fed %s', (_label, cut) => {
    const result = readUsage(provider, endpoint, Buffer.from(stream, 'utf8'), cut);
    expect(result.usage).toEqual(usage);
    expect(result.final).toBe(true);
  });
});
