// The OpenAI chat request as Converse, for what the end-to-end suite does not send: images, JSON
// mode, alternating turns, and the refusals.
import { describe, expect, it } from 'vitest';
import { converseFromChat } from '../../src/providers/bedrock/from-openai.js';
import { GatewayError } from '../../src/errors/catalogue.js';

const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('converseFromChat', () => {
  it('sends a data-URL image as image bytes, merges neighbouring user turns and states JSON mode in the system prompt', () => {
    const body = converseFromChat({
      model: 'x',
      response_format: { type: 'json_object' },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${pixel}` } }] },
        { role: 'user', content: 'Answer in JSON.' },
      ],
    });
    expect(body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'What is this?' }, { image: { format: 'png', source: { bytes: pixel } } }, { text: 'Answer in JSON.' }] }],
      system: [{ text: 'Respond with a single valid JSON object and nothing else.' }],
    });
  });

  it.each([
    ['an image by https URL', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] }],
    ['a TIFF data URL', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/tiff;base64,${pixel}` } }] }] }],
    ['tool_choice none', { messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' }],
    ['n: 2', { messages: [{ role: 'user', content: 'hi' }], n: 2 }],
  ])('refuses %s with invalid_request', (_label, body) => {
    expect(() => converseFromChat({ model: 'x', ...body })).toThrow(GatewayError);
    try {
      converseFromChat({ model: 'x', ...body });
    } catch (err) {
      expect((err as GatewayError).code).toBe('invalid_request');
    }
  });
});
