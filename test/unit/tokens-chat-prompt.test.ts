import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/catalogue.js';
import { countTextTokens } from '../../src/tokens/count-text.js';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { catalogModel, cookbookMessages, cookbookToolMessages, cookbookWeatherFunction, unusedPool } from './tokens-fixtures.js';

const counter = createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool });
const o200k = (text: string) => countTextTokens(text, 'o200k_base');
const count = async (model: string, body: unknown) => counter.countPrompt('chat', body, catalogModel(model));

// A 1x1 PNG header with a forged size: only the IHDR chunk is read.
function pngDataUrl(width: number, height: number): string {
  const header = Buffer.alloc(33);
  header.writeUInt32BE(0x89504e47, 0);
  header.writeUInt32BE(0x0d0a1a0a, 4);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  return `data:image/png;base64,${header.toString('base64')}`;
}

describe('chat completion prompt counting', () => {
  it.each(['gpt-3.5-turbo', 'gpt-4-turbo'])('matches the 129 tokens the API reported for the cookbook conversation on %s (cl100k_base)', async (model) => {
    expect(await count(model, { model, messages: cookbookMessages })).toEqual({ promptTokens: 129, estimated: false, encoding: 'cl100k_base' });
  });

  it.each(['gpt-4o', 'gpt-4o-mini'])('matches the 124 tokens the API reported for the cookbook conversation on %s (o200k_base)', async (model) => {
    expect(await count(model, { model, messages: cookbookMessages })).toEqual({ promptTokens: 124, estimated: false, encoding: 'o200k_base' });
  });

  it.each([
    ['gpt-3.5-turbo', 105],
    ['gpt-4o', 101],
    ['gpt-4o-mini', 101],
  ])('matches the cookbook function-calling example on %s (%i tokens)', async (model, expected) => {
    const body = { model, messages: cookbookToolMessages, tools: [{ type: 'function', function: cookbookWeatherFunction }] };
    expect((await count(model, body)).promptTokens).toBe(expected);
  });

  it('counts legacy `functions` like the same definitions under `tools`', async () => {
    const legacy = await count('gpt-4o', { messages: cookbookToolMessages, functions: [cookbookWeatherFunction] });
    expect(legacy.promptTokens).toBe(101);
  });

  it('counts each text part of a content array on its own', async () => {
    const result = await count('gpt-4o', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there, ' }, { type: 'text', text: 'how are you?' }] }],
    });
    const parts = o200k('user') + o200k('Hello there, ') + o200k('how are you?');
    expect(result.promptTokens).toBe(3 + parts + 3);
  });

  it("charges an assistant's tool calls: name, arguments and 3 tokens of framing each", async () => {
    const without = await count('gpt-4o', { messages: [{ role: 'assistant', content: null }] });
    const call = { name: 'get_current_weather', arguments: '{"location":"Paris"}' };
    const withCalls = await count('gpt-4o', {
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: call }, { id: 'call_2', type: 'function', function: call }] }],
    });
    expect(withCalls.promptTokens - without.promptTokens).toBe(2 * (o200k(call.name) + o200k(call.arguments) + 3));
  });

  it('charges 85 tokens for a low-detail image on gpt-4o, exactly', async () => {
    const text = await count('gpt-4o', { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }] }] });
    const image = await count('gpt-4o', {
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }] }],
    });
    expect(image).toEqual({ promptTokens: text.promptTokens + 85, estimated: false, encoding: 'o200k_base' });
  });

  it('reads the size of an inline image and charges its tiles (1024x1024 high on gpt-4o: 765)', async () => {
    const text = await count('gpt-4o', { messages: [{ role: 'user', content: [] }] });
    const image = await count('gpt-4o', {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: pngDataUrl(1024, 1024), detail: 'high' } }] }],
    });
    expect(image).toEqual({ promptTokens: text.promptTokens + 765, estimated: false, encoding: 'o200k_base' });
  });

  it('charges the largest tile count for an image of unknown size and marks the count estimated', async () => {
    const text = await count('gpt-4o', { messages: [{ role: 'user', content: [] }] });
    const image = await count('gpt-4o', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] });
    expect(image).toEqual({ promptTokens: text.promptTokens + 85 + 8 * 170, estimated: true, encoding: 'o200k_base' });
  });

  it('counts special-token text such as <|endoftext|> as plain text instead of failing', async () => {
    const result = await count('gpt-4o', { messages: [{ role: 'user', content: 'quote: <|endoftext|> and <|im_start|>' }] });
    expect(result.promptTokens).toBeGreaterThan(10);
  });

  it('rejects a body without messages with invalid_request naming the field', async () => {
    await expect(count('gpt-4o', { model: 'gpt-4o' })).rejects.toMatchObject({ code: 'invalid_request', status: 400, param: 'messages' });
    await expect(count('gpt-4o', { messages: [{ role: 'user', content: 42 }] })).rejects.toBeInstanceOf(GatewayError);
  });
});
