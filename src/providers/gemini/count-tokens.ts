// POST /v1beta/models/{model}:countTokens answered by the gateway itself, in Gemini's shape: the
// same estimate the reservation uses, with no upstream call and no charge (as Tollgate's other
// token-count routes). Google's own count is free too, but it would need the upstream on a route
// clients call to decide whether a request fits.
import { z } from 'zod';
import type { CatalogModel } from '../../config/catalog.js';
import { parseJsonBody } from '../../http/parse-json.js';
import { parseBody } from '../../tokens/parse-body.js';
import type { PromptCounter } from '../../tokens/prompt-counter.js';
import { type JsonObject } from '../provider.js';

const turns = z.array(z.looseObject({ parts: z.array(z.looseObject({})) })).min(1, 'contents must hold at least one turn');
// Either the contents alone, or a whole generateContent request (system instruction and tools count).
const countTokensSchema = z.union([z.looseObject({ contents: turns }), z.looseObject({ generateContentRequest: z.looseObject({ contents: turns }) })]);

export interface GeminiTokenCount {
  readonly totalTokens: number;
}

export async function geminiTokenCount(raw: Buffer, model: CatalogModel, counter: PromptCounter): Promise<GeminiTokenCount> {
  const body = parseBody(countTokensSchema, parseJsonBody(raw)) as JsonObject;
  const request = 'generateContentRequest' in body ? (body.generateContentRequest as JsonObject) : body;
  const count = await counter.countPrompt('generateContent', request, model);
  return { totalTokens: count.promptTokens };
}
