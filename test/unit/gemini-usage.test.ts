// Gemini usage from usageMetadata: the same totals whether an answer arrives whole, one byte at a
// time or in random slices, for both stream framings (?alt=sse events and the default JSON array),
// counts read as cumulative (never summed) and the final chunk's the bill.
import { describe, expect, it } from 'vitest';
import { gemini } from '../../src/providers/gemini/index.js';
import { usageFromMetadata } from '../../src/providers/gemini/usage.js';
import { createSseSplitter, parseSseEvent } from '../../src/proxy/sse.js';
import { cuts, slices } from './byte-slices.js';

// Shapes as recorded from generativelanguage.googleapis.com (gemini-2.5-flash, thinking on, a
// cached prefix): every chunk carries usageMetadata so far; only the last has a finishReason.
const chunks = [
  { candidates: [{ content: { parts: [{ text: 'Héllo' }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 1210, cachedContentTokenCount: 1024, totalTokenCount: 1310, thoughtsTokenCount: 98, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1210 }] }, modelVersion: 'gemini-2.5-flash', responseId: 'r1' },
  { candidates: [{ content: { parts: [{ text: ' wörld ✓' }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 1210, cachedContentTokenCount: 1024, candidatesTokenCount: 3, totalTokenCount: 1311, thoughtsTokenCount: 98 }, modelVersion: 'gemini-2.5-flash', responseId: 'r1' },
  { candidates: [{ content: { parts: [{ text: '!' }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 1210, cachedContentTokenCount: 1024, candidatesTokenCount: 5, totalTokenCount: 1313, thoughtsTokenCount: 98 }, modelVersion: 'gemini-2.5-flash', responseId: 'r1' },
];
const finalUsage = { promptTokens: 1210, cachedTokens: 1024, cacheWriteTokens: 0, completionTokens: 103, reasoningTokens: 98 };

const sseStream = chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join('');
const arrayStream = `[${chunks.map((c) => JSON.stringify(c, null, 2)).join('\n,\r\n')}\n]`;

describe('Gemini ?alt=sse stream', () => {
  const bytes = Buffer.from(sseStream, 'utf8');
  it.each(cuts)('gives the final usage fed %s', (_label, cut) => {
    const splitter = createSseSplitter();
    const reader = gemini.streamUsageReader('streamGenerateContent');
    const events = [];
    for (const slice of slices(bytes, cut)) {
      for (const raw of splitter.push(slice)) {
        const event = parseSseEvent(raw);
        events.push(event);
        reader.onEvent(event);
      }
    }
    expect(reader.usage()).toEqual(finalUsage);
    expect(reader.final()).toBe(true);
    expect(events).toHaveLength(3);
    expect(splitter.pending().length).toBe(0);
    expect(gemini.deliveredText('streamGenerateContent', events, undefined)).toBe('Héllo wörld ✓!');
  });

  it('is a lower bound, not final, until the chunk with a finishReason arrives', () => {
    const reader = gemini.streamUsageReader('streamGenerateContent');
    for (const raw of createSseSplitter().push(Buffer.from(sseStream.split('\r\n\r\n').slice(0, 2).join('\r\n\r\n') + '\r\n\r\n'))) reader.onEvent(parseSseEvent(raw));
    expect(reader.final()).toBe(false);
    expect(reader.usage()).toMatchObject({ promptTokens: 1210, completionTokens: 101 });
  });

  it('never lets a later, smaller report lower the bill', () => {
    const reader = gemini.streamUsageReader('streamGenerateContent');
    const lowered = { ...chunks[2], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } };
    for (const c of [chunks[1], lowered]) reader.onEvent({ event: undefined, data: JSON.stringify(c) });
    expect(reader.final()).toBe(true);
    expect(reader.usage()).toMatchObject({ promptTokens: 1210, completionTokens: 101 });
  });
});

describe('Gemini streamed JSON array (no alt)', () => {
  const bytes = Buffer.from(arrayStream, 'utf8');
  // The relay keeps a JSON answer's bytes as they come and parses them once the answer ends.
  it.each(cuts)('gives the final usage fed %s', (_label, cut) => {
    const body = JSON.parse(Buffer.concat(slices(bytes, cut)).toString('utf8')) as unknown;
    expect(gemini.usageFromBody('streamGenerateContent', body)).toEqual(finalUsage);
    expect(gemini.deliveredText('streamGenerateContent', undefined, body)).toBe('Héllo wörld ✓!');
  });
});

describe('Gemini usageMetadata', () => {
  it('bills thoughts and tool-use prompts, and counts cached tokens within the prompt', () => {
    expect(usageFromMetadata({ promptTokenCount: 100, toolUsePromptTokenCount: 20, cachedContentTokenCount: 60, candidatesTokenCount: 7, thoughtsTokenCount: 30, totalTokenCount: 157 })).toEqual({
      promptTokens: 120,
      cachedTokens: 60,
      cacheWriteTokens: 0,
      completionTokens: 37,
      reasoningTokens: 30,
    });
  });

  it('reads the uncached audio part of the prompt from the modality details', () => {
    const usage = usageFromMetadata({
      promptTokenCount: 5000,
      cachedContentTokenCount: 1200,
      candidatesTokenCount: 40,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1800 }, { modality: 'AUDIO', tokenCount: 3200 }],
      cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 1000 }, { modality: 'TEXT', tokenCount: 200 }],
    });
    expect(usage).toEqual({ promptTokens: 5000, cachedTokens: 1200, cacheWriteTokens: 0, audioInputTokens: 2200, completionTokens: 40, reasoningTokens: 0 });
    expect(usageFromMetadata({ promptTokenCount: 10, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }] })).not.toHaveProperty('audioInputTokens');
  });

  it('falls back on totalTokenCount when a chunk leaves candidatesTokenCount out', () => {
    expect(usageFromMetadata({ promptTokenCount: 10, totalTokenCount: 25 })).toMatchObject({ promptTokens: 10, completionTokens: 15 });
  });

  it('reads a non-streamed answer and a blocked prompt', () => {
    expect(gemini.usageFromBody('generateContent', chunks[2])).toEqual(finalUsage);
    const blocked = { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } };
    const reader = gemini.streamUsageReader('streamGenerateContent');
    reader.onEvent({ event: undefined, data: JSON.stringify(blocked) });
    expect(reader.final()).toBe(true);
    expect(reader.usage()).toMatchObject({ promptTokens: 8, completionTokens: 0 });
  });
});
