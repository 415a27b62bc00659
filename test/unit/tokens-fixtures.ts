// Shared inputs for the token-counting suites: the real catalog, a pool that must not be used,
// and the example requests from OpenAI's cookbook and Anthropic's docs with their published counts.
import { loadConfig } from '../../src/config/load.js';
import type { CatalogModel } from '../../src/config/catalog.js';
import type { TokenizerPool } from '../../src/tokens/pool.js';

export const catalog = loadConfig({ env: {} }).catalog;

export function catalogModel(name: string): CatalogModel {
  const model = catalog.resolve(name);
  if (!model) throw new Error(`test catalog has no model ${name}`);
  return model;
}

export const unusedPool: TokenizerPool = {
  countTexts: () => {
    throw new Error('this prompt should have been counted inline');
  },
  queued: 0,
  close: async () => {},
};

// OpenAI cookbook, "How to count tokens with tiktoken", section 6: the API reported 129 prompt
// tokens for gpt-3.5-turbo / gpt-4-0613 (cl100k_base) and 124 for gpt-4o / gpt-4o-mini (o200k_base).
export const cookbookMessages = [
  { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  { role: 'system', name: 'example_user', content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

// Same cookbook, section 7: 105 prompt tokens for gpt-3.5-turbo / gpt-4, 101 for gpt-4o / gpt-4o-mini.
export const cookbookWeatherFunction = {
  name: 'get_current_weather',
  description: 'Get the current weather in a given location',
  parameters: {
    type: 'object',
    properties: {
      location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
      unit: { type: 'string', description: 'The unit of temperature to return', enum: ['celsius', 'fahrenheit'] },
    },
    required: ['location'],
  },
};
export const cookbookToolMessages = [
  { role: 'system', content: 'You are a helpful assistant that can answer to questions about the weather.' },
  { role: 'user', content: "What's the weather like in San Francisco?" },
];
