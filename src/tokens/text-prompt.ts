// Plans the prompt of the legacy completions and the embeddings endpoints: no chat framing, just
// text, a list of texts, or already-tokenized input (arrays of token ids, counted by length).
import { z } from 'zod';
import { parseBody } from './parse-body.js';
import { createPlanBuilder, type PromptPlan } from './prompt-plan.js';

const tokenIds = z.array(z.number().int());
const textInputSchema = z.union([z.string(), z.array(z.string()), tokenIds, z.array(tokenIds)]);

export const completionsBodySchema = z.looseObject({ prompt: textInputSchema, suffix: z.string().nullable().optional() });
export const embeddingsBodySchema = z.looseObject({ input: textInputSchema });

export function planCompletionsPrompt(body: unknown): PromptPlan {
  const { prompt, suffix } = parseBody(completionsBodySchema, body);
  return planTextInput(prompt, suffix ?? '');
}

export function planEmbeddingsPrompt(body: unknown): PromptPlan {
  return planTextInput(parseBody(embeddingsBodySchema, body).input, '');
}

const isTokenIds = (input: readonly unknown[]): input is number[] => typeof input[0] === 'number';

function planTextInput(input: z.output<typeof textInputSchema>, suffix: string): PromptPlan {
  const plan = createPlanBuilder();
  const items: ReadonlyArray<string | readonly number[]> = typeof input === 'string' || isTokenIds(input) ? [input] : input;
  for (const item of items) {
    if (typeof item === 'string') plan.text(item);
    else plan.fixed(item.length);
  }
  plan.text(suffix);
  return plan.build();
}
