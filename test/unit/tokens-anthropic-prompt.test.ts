import { describe, expect, it } from 'vitest';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { catalogModel, unusedPool } from './tokens-fixtures.js';

const counter = createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool });
const count = async (body: unknown, model = 'claude-sonnet-4-5') => counter.countPrompt('messages', body, catalogModel(model));

// Anthropic token-counting docs, measured with claude-sonnet-4-5.
const weatherTool = {
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  input_schema: {
    type: 'object',
    properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } },
    required: ['location'],
  },
};

describe('Anthropic Messages prompt estimate', () => {
  it('comes out at the 14 tokens the docs report for a system prompt and one message', async () => {
    const result = await count({ system: 'You are a scientist', messages: [{ role: 'user', content: 'Hello, Claude' }] });
    expect(result).toEqual({ promptTokens: 14, estimated: true, encoding: 'estimate' });
  });

  it('lands at or just above the 403 tokens the docs report for one tool (never short, at most 10% over)', async () => {
    const result = await count({ tools: [weatherTool], messages: [{ role: 'user', content: "What's the weather like in San Francisco?" }] });
    expect(result.promptTokens).toBeGreaterThanOrEqual(403);
    expect(result.promptTokens).toBeLessThanOrEqual(443);
  });

  it('counts system text blocks like a system string', async () => {
    const asBlocks = await count({ system: [{ type: 'text', text: 'You are a scientist' }], messages: [{ role: 'user', content: 'Hi' }] });
    const asString = await count({ system: 'You are a scientist', messages: [{ role: 'user', content: 'Hi' }] });
    expect(asBlocks.promptTokens).toBe(asString.promptTokens);
  });

  it('charges tool_use input and tool_result content', async () => {
    const base = await count({ messages: [{ role: 'user', content: 'Hi' }] });
    const withTools = await count({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: { location: 'San Francisco, CA' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: '15 degrees and foggy' }] }] },
      ],
    });
    expect(withTools.promptTokens - base.promptTokens).toBeGreaterThan(2 * 3 + 10);
  });

  it('charges a base64 image by its real size and an image URL at the 1600-token cap', async () => {
    const png = Buffer.alloc(24);
    png.writeUInt32BE(0x89504e47, 0);
    png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(1000, 16);
    png.writeUInt32BE(1000, 20);
    const base = await count({ messages: [{ role: 'user', content: [] }] });
    const inline = await count({
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: png.toString('base64') } }] }],
    });
    const byUrl = await count({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] }] });
    expect(inline.promptTokens - base.promptTokens).toBe(1334);
    expect(byUrl.promptTokens - base.promptTokens).toBe(1600);
  });

  it('scales text above an o200k_base count, so long prompts are never under-reserved by the tokenizer gap', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
    const claude = await count({ messages: [{ role: 'user', content: text }] });
    const gpt = await counter.countPrompt('chat', { messages: [{ role: 'user', content: text }] }, catalogModel('gpt-4o'));
    expect(claude.promptTokens).toBeGreaterThan(gpt.promptTokens * 1.25);
  });

  it('rejects a body without messages', async () => {
    await expect(count({ system: 'x' })).rejects.toMatchObject({ code: 'invalid_request', param: 'messages' });
  });
});
