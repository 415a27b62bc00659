import { describe, expect, it } from 'vitest';
import { createPromptCounter } from '../../src/tokens/prompt-counter.js';
import { catalogModel, cookbookToolMessages, cookbookWeatherFunction, unusedPool } from './tokens-fixtures.js';

const counter = createPromptCounter({ inlineMaxChars: 1_000_000, pool: unusedPool });
const responses = async (body: unknown) => counter.countPrompt('responses', body, catalogModel('gpt-4o'));
const chat = async (body: unknown) => counter.countPrompt('chat', body, catalogModel('gpt-4o'));

describe('Responses API prompt counting', () => {
  it('counts a list of input messages exactly like the same chat messages', async () => {
    expect(await responses({ input: cookbookToolMessages })).toEqual(await chat({ messages: cookbookToolMessages }));
  });

  it('counts a string input as one user message', async () => {
    expect(await responses({ input: 'Hello there' })).toEqual(await chat({ messages: [{ role: 'user', content: 'Hello there' }] }));
  });

  it('counts instructions as a leading developer message', async () => {
    const result = await responses({ instructions: 'Be brief.', input: 'Hello there' });
    const expected = await chat({ messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }] });
    expect(result).toEqual(expected);
  });

  it('counts input_text parts and flattened function tools like chat does (cookbook tools example: 101)', async () => {
    const input = cookbookToolMessages.map((m) => ({ type: 'message', role: m.role, content: [{ type: 'input_text', text: m.content }] }));
    const result = await responses({ input, tools: [{ type: 'function', ...cookbookWeatherFunction }] });
    expect(result).toEqual({ promptTokens: 101, estimated: false, encoding: 'o200k_base' });
  });

  it('charges function calls and their outputs', async () => {
    const base = await responses({ input: 'Weather?' });
    const result = await responses({
      input: [
        { role: 'user', content: 'Weather?' },
        { type: 'function_call', call_id: 'c1', name: 'get_current_weather', arguments: '{"location":"Paris"}' },
        { type: 'function_call_output', call_id: 'c1', output: '15C and sunny' },
      ],
    });
    expect(result.promptTokens - base.promptTokens).toBeGreaterThan(3 + 3 + 8);
    expect(result.estimated).toBe(false);
  });

  it('marks the count estimated when earlier turns live upstream (previous_response_id) or a built-in tool is used', async () => {
    expect((await responses({ input: 'and then?', previous_response_id: 'resp_1' })).estimated).toBe(true);
    expect((await responses({ input: 'search it', tools: [{ type: 'web_search' }] })).estimated).toBe(true);
  });
});
