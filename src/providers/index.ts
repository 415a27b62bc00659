// Provider kinds by config name, and the error dialect each client-facing route speaks.
import type { ProviderConfig } from '../config/schema.js';
import { anthropic, fromChat as anthropicFromChat } from './anthropic/index.js';
import { errors as bedrockErrors } from './bedrock/errors.js';
import { bedrock, fromChat as bedrockFromChat } from './bedrock/index.js';
import { errors as geminiErrors } from './gemini/errors.js';
import { gemini, fromChat as geminiFromChat } from './gemini/index.js';
import { errors as anthropicErrors } from './anthropic/errors.js';
import { fromMessages as openaiFromMessages, openai } from './openai/index.js';
import { errors as openaiErrors } from './openai/errors.js';
import type { ErrorDialect, Provider, Translation } from './provider.js';
import type { Endpoint } from './types.js';

export const providers: Readonly<Record<ProviderConfig['kind'], Provider>> = { openai, anthropic, gemini, bedrock };

export const errorDialects = { openai: openaiErrors, anthropic: anthropicErrors, gemini: geminiErrors, bedrock: bedrockErrors } as const satisfies Record<string, ErrorDialect>;
export type DialectName = keyof typeof errorDialects;

// Client APIs a provider answers by translation (the client's endpoint, then the provider kind):
// an OpenAI chat client reaches Claude, Gemini and Bedrock models, an Anthropic client OpenAI models. Metering sees the provider's own request.
export const translations: Partial<Record<Endpoint, Partial<Record<ProviderConfig['kind'], Translation>>>> = {
  chat: { anthropic: anthropicFromChat, gemini: geminiFromChat, bedrock: bedrockFromChat },
  messages: { openai: openaiFromMessages },
};
