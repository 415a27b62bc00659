// Provider kinds by config name, and the error dialect each client-facing route speaks.
import type { ProviderConfig } from '../config/schema.js';
import { anthropic } from './anthropic/index.js';
import { errors as geminiErrors } from './gemini/errors.js';
import { gemini } from './gemini/index.js';
import { errors as anthropicErrors } from './anthropic/errors.js';
import { openai } from './openai/index.js';
import { errors as openaiErrors } from './openai/errors.js';
import type { ErrorDialect, Provider } from './provider.js';

export const providers: Readonly<Record<ProviderConfig['kind'], Provider>> = { openai, anthropic, gemini };

export const errorDialects = { openai: openaiErrors, anthropic: anthropicErrors, gemini: geminiErrors } as const satisfies Record<string, ErrorDialect>;
export type DialectName = keyof typeof errorDialects;
