// Plans the prompt of an OpenAI chat completion the way the API counts it (OpenAI cookbook, "How to
// count tokens with tiktoken"): 3 tokens of framing per message, every field's text, 1 more per
// `name`, 3 to prime the reply; plus tool definitions, tool calls and images.
import { z } from 'zod';
import type { CatalogModel } from '../config/catalog.js';
import { functionDefinitionSchema, planFunctionTools } from './function-tools.js';
import { imageSizeFromDataUrl } from './image-size.js';
import { openaiImageProfile, openaiImageTokens, type OpenAIImageProfile } from './image-tokens.js';
import { parseBody } from './parse-body.js';
import { createPlanBuilder, type PlanBuilder, type PromptPlan } from './prompt-plan.js';

export const tokensPerMessage = 3;
const tokensPerName = 1;
export const replyPrimingTokens = 3;
// A call the assistant made (tools or legacy function_call): its name, its arguments and framing.
const tokensPerToolCall = 3;

const detailSchema = z.enum(['low', 'high', 'auto']).catch('auto');

const contentPartSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  refusal: z.string().optional(),
  image_url: z.looseObject({ url: z.string(), detail: detailSchema.optional() }).optional(),
});

const functionCallSchema = z.looseObject({ name: z.string(), arguments: z.string() });

const messageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(contentPartSchema), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.looseObject({ function: functionCallSchema })).optional(),
  function_call: functionCallSchema.optional(),
});

export const chatBodySchema = z.looseObject({
  messages: z.array(messageSchema).min(1),
  tools: z.array(z.looseObject({ type: z.string(), function: functionDefinitionSchema.optional() })).optional(),
  functions: z.array(functionDefinitionSchema).optional(),
});

type ContentPart = z.output<typeof contentPartSchema>;

export function planChatPrompt(body: unknown, model: CatalogModel): PromptPlan {
  const { messages, tools, functions } = parseBody(chatBodySchema, body);
  const plan = createPlanBuilder();
  const imageProfile = openaiImageProfile(model.name);
  for (const message of messages) {
    plan.fixed(tokensPerMessage);
    plan.text(message.role);
    if (typeof message.content === 'string') plan.text(message.content);
    else for (const part of message.content ?? []) planContentPart(part, imageProfile, plan);
    if (message.name !== undefined) {
      plan.text(message.name);
      plan.fixed(tokensPerName);
    }
    const calls = [...(message.tool_calls ?? []).map((call) => call.function), ...(message.function_call ? [message.function_call] : [])];
    for (const call of calls) {
      plan.text(call.name);
      plan.text(call.arguments);
      plan.fixed(tokensPerToolCall);
    }
  }
  plan.fixed(replyPrimingTokens);
  const definitions = [...(tools ?? []).flatMap((tool) => (tool.function ? [tool.function] : [])), ...(functions ?? [])];
  planFunctionTools(definitions, model.encoding, plan);
  // Custom and built-in tools have no published token formula.
  if (tools?.some((tool) => !tool.function)) plan.estimate();
  return plan.build();
}

function planContentPart(part: ContentPart, imageProfile: OpenAIImageProfile, plan: PlanBuilder): void {
  if (part.type === 'text' && part.text !== undefined) plan.text(part.text);
  else if (part.type === 'refusal' && part.refusal !== undefined) plan.text(part.refusal);
  else if (part.type === 'image_url' && part.image_url) planImage(part.image_url.url, part.image_url.detail ?? 'auto', imageProfile, plan);
  // Audio and files are priced by duration and pages the gateway does not decode; settle corrects them.
  else plan.estimate();
}

export function planImage(url: string, detail: 'low' | 'high' | 'auto', profile: OpenAIImageProfile, plan: PlanBuilder): void {
  const size = imageSizeFromDataUrl(url);
  if (!size && !(detail === 'low' && profile.kind === 'tiles')) plan.estimate();
  plan.fixed(openaiImageTokens(profile, detail, size));
}
