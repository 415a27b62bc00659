// Plans the prompt of an OpenAI Responses API request: `instructions` as a leading developer
// message, `input` as a string or a list of items, function tools, counted with the chat formula.
import { z } from 'zod';
import type { CatalogModel } from '../config/catalog.js';
import { planImage, replyPrimingTokens, tokensPerMessage } from './chat-prompt.js';
import { planFunctionTools, type FunctionDefinition } from './function-tools.js';
import { openaiImageProfile, type OpenAIImageProfile } from './image-tokens.js';
import { parseBody } from './parse-body.js';
import { createPlanBuilder, type PlanBuilder, type PromptPlan } from './prompt-plan.js';

const tokensPerToolCall = 3;

const partSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  refusal: z.string().optional(),
  image_url: z.string().optional(),
  detail: z.enum(['low', 'high', 'auto']).catch('auto').optional(),
});

const contentSchema = z.union([z.string(), z.array(partSchema)]);

const itemSchema = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: contentSchema.optional(),
  name: z.string().optional(),
  arguments: z.string().optional(),
  output: contentSchema.optional(),
  summary: z.array(z.looseObject({ text: z.string() })).optional(),
});

const toolSchema = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

export const responsesBodySchema = z.looseObject({
  input: z.union([z.string(), z.array(itemSchema)]).optional(),
  instructions: z.string().nullable().optional(),
  tools: z.array(toolSchema).optional(),
  previous_response_id: z.string().nullable().optional(),
  conversation: z.unknown().optional(),
  prompt: z.unknown().optional(),
});

type Item = z.output<typeof itemSchema>;
type Content = z.output<typeof contentSchema>;

export function planResponsesPrompt(body: unknown, model: CatalogModel): PromptPlan {
  const request = parseBody(responsesBodySchema, body);
  const plan = createPlanBuilder();
  const imageProfile = openaiImageProfile(model.name);
  // Earlier turns and stored prompts are added upstream, out of the gateway's sight.
  if (request.previous_response_id || request.conversation !== undefined || request.prompt !== undefined) plan.estimate();
  if (request.instructions) planMessage('developer', request.instructions, imageProfile, plan);
  if (typeof request.input === 'string') planMessage('user', request.input, imageProfile, plan);
  else for (const item of request.input ?? []) planItem(item, imageProfile, plan);
  plan.fixed(replyPrimingTokens);

  const functions: FunctionDefinition[] = [];
  for (const tool of request.tools ?? []) {
    if (tool.type === 'function' && tool.name !== undefined) functions.push({ ...tool, name: tool.name });
    else plan.estimate();
  }
  planFunctionTools(functions, model.encoding, plan);
  return plan.build();
}

function planItem(item: Item, imageProfile: OpenAIImageProfile, plan: PlanBuilder): void {
  switch (item.type ?? 'message') {
    case 'message':
      planMessage(item.role ?? 'user', item.content ?? '', imageProfile, plan);
      return;
    case 'function_call':
    case 'custom_tool_call':
      plan.text(item.name ?? '');
      plan.text(item.arguments ?? '');
      plan.fixed(tokensPerToolCall);
      return;
    case 'function_call_output':
    case 'custom_tool_call_output':
      planMessage('tool', item.output ?? '', imageProfile, plan);
      return;
    case 'reasoning':
      // Only the summary is readable; encrypted reasoning content is opaque to the gateway.
      for (const part of item.summary ?? []) plan.text(part.text);
      plan.estimate();
      return;
    default:
      plan.estimate();
  }
}

function planMessage(role: string, content: Content, imageProfile: OpenAIImageProfile, plan: PlanBuilder): void {
  plan.fixed(tokensPerMessage);
  plan.text(role);
  if (typeof content === 'string') {
    plan.text(content);
    return;
  }
  for (const part of content) {
    if ((part.type === 'input_text' || part.type === 'output_text') && part.text !== undefined) plan.text(part.text);
    else if (part.type === 'refusal' && part.refusal !== undefined) plan.text(part.refusal);
    // An image by file_id has no size in the request: planImage charges the most it can cost.
    else if (part.type === 'input_image') planImage(part.image_url ?? '', part.detail ?? 'auto', imageProfile, plan);
    // Files and audio are priced by pages and duration the gateway does not decode.
    else plan.estimate();
  }
}
