// Plans the prompt of an Anthropic Messages request. Anthropic publishes no tokenizer for its
// current models, so this is a calibrated estimate (marked `estimated`, corrected at settle):
// text is counted with o200k_base and scaled up, framing and tools use Anthropic's published
// figures, images the published pixels/750 formula.
import { z } from 'zod';
import { anthropicImageTokens } from './image-tokens.js';
import { imageSizeFromBase64 } from './image-size.js';
import { parseBody } from './parse-body.js';
import { createPlanBuilder, type PlanBuilder, type PromptPlan } from './prompt-plan.js';
import type { TextEncoding } from './encoders.js';

// Claude's tokenizer splits text into more pieces than o200k_base: published comparisons measured
// about 16% more for English prose, 21% for maths and 30% for code. The estimate takes the code
// figure so a reservation rarely falls short; settle charges the provider's real count.
export const estimateEncoding: TextEncoding = 'o200k_base';
export const estimateTextScalePermille = 1300;

// Claude's prompt format frames each turn with a role marker and ends with the assistant's, while
// the system prompt goes in bare. Calibrated so the count_tokens examples in Anthropic's
// token-counting docs come out at or just above the published figures (system + one message: 14
// tokens; one tool: 403 tokens).
const tokensPerMessage = 2;
const replyPrimingTokens = 2;
// Any `tools` make Anthropic add a tool-use system prompt: 346 tokens for Claude 4 models with
// tool_choice auto/none (313 for any/tool; charged at the higher figure).
const toolSystemPromptTokens = 346;

type Block = { type: string } & Record<string, unknown>;
const blockSchema = z.looseObject({ type: z.string() }) as z.ZodType<Block>;
const contentSchema = z.union([z.string(), z.array(blockSchema)]);

export const messagesBodySchema = z.looseObject({
  system: contentSchema.optional(),
  messages: z.array(z.looseObject({ role: z.string(), content: contentSchema })).min(1),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
});

export function planAnthropicPrompt(body: unknown): PromptPlan {
  const request = parseBody(messagesBodySchema, body);
  const plan = createPlanBuilder();
  plan.estimate();
  if (request.system !== undefined) planContent(request.system, plan);
  for (const message of request.messages) {
    plan.fixed(tokensPerMessage);
    planContent(message.content, plan);
  }
  plan.fixed(replyPrimingTokens);
  if (request.tools && request.tools.length > 0) {
    plan.fixed(toolSystemPromptTokens);
    for (const tool of request.tools) plan.text(JSON.stringify(tool));
  }
  return plan.build();
}

// Content nested in tool_result and document blocks is past the body schema, so each item is
// checked here: one that is no block (null, a number) is counted as its JSON, as unknown blocks are.
const isBlock = (value: unknown): value is Block =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string';

function planContent(content: unknown, plan: PlanBuilder): void {
  if (typeof content === 'string') plan.text(content);
  else if (Array.isArray(content)) {
    for (const block of content) {
      if (isBlock(block)) planBlock(block, plan);
      else plan.text(JSON.stringify(block));
    }
  }
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function planBlock(block: Block, plan: PlanBuilder): void {
  switch (block.type) {
    case 'text':
      plan.text(str(block.text));
      return;
    case 'thinking':
      plan.text(str(block.thinking));
      return;
    case 'image': {
      const source = block.source as { type?: string; data?: unknown } | undefined;
      const data = source?.type === 'base64' ? str(source.data) : '';
      plan.fixed(anthropicImageTokens(data ? imageSizeFromBase64(data) : undefined));
      return;
    }
    case 'tool_use':
    case 'server_tool_use':
      plan.text(str(block.name));
      plan.text(JSON.stringify(block.input ?? {}));
      return;
    case 'tool_result':
      planContent(block.content, plan);
      return;
    case 'document': {
      // Plain-text documents are text; PDFs cost per page, and the gateway does not parse PDFs.
      const source = block.source as { type?: string; data?: unknown; content?: unknown } | undefined;
      if (source?.type === 'text') plan.text(str(source.data));
      else if (source?.type === 'content') planContent(source.content, plan);
      plan.text(str(block.title));
      plan.text(str(block.context));
      return;
    }
    case 'redacted_thinking':
      // Encrypted; its size in tokens is only known upstream. The request is an estimate anyway.
      return;
    default:
      // Search results and block types added later: their JSON is a generous stand-in.
      plan.text(JSON.stringify(block));
  }
}
