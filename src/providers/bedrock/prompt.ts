// Plans the prompt of a Converse request for the reservation: system blocks, every message's
// content blocks and the tool specs. Bedrock serves many model families with their own tokenizers,
// so this is an estimate (o200k_base scaled up, marked `estimated`, as for Claude and Gemini) and
// settle charges Bedrock's own usage. Images are costed by Claude's published rule, the most
// expensive of the families served; documents and video cost what the gateway cannot see.
import { imageSizeFromBase64 } from '../../tokens/image-size.js';
import { anthropicImageTokens, anthropicMaxImageTokens } from '../../tokens/image-tokens.js';
import { createPlanBuilder, type PlanBuilder, type PromptPlan } from '../../tokens/prompt-plan.js';
import { asObject, type JsonObject } from '../provider.js';

// Role markers around each message in the models' chat templates.
const tokensPerMessage = 4;

function planBlock(block: JsonObject, plan: PlanBuilder): void {
  if (typeof block.text === 'string') {
    plan.text(block.text);
    return;
  }
  if (block.cachePoint !== undefined) return;
  const image = asObject(block.image);
  if (image) {
    const bytes = asObject(image.source)?.bytes;
    plan.fixed(typeof bytes === 'string' ? anthropicImageTokens(imageSizeFromBase64(bytes)) : anthropicMaxImageTokens);
    return;
  }
  const toolResult = asObject(block.toolResult);
  if (toolResult && Array.isArray(toolResult.content)) {
    for (const inner of toolResult.content) {
      const b = asObject(inner);
      if (b) planBlock(b, plan);
    }
    return;
  }
  // Documents, video and S3 references are priced by what the gateway does not decode.
  if (block.document !== undefined || block.video !== undefined) plan.estimate();
  // toolUse, reasoning and blocks added later: their JSON stands in.
  plan.text(JSON.stringify(block));
}

function planBlocks(blocks: unknown, plan: PlanBuilder): void {
  if (!Array.isArray(blocks)) return;
  for (const block of blocks) {
    const b = asObject(block);
    if (b) planBlock(b, plan);
  }
}

// The body has been validated by parseConverse (messages with content arrays).
export function planConversePrompt(body: unknown): PromptPlan {
  const request = asObject(body);
  const plan = createPlanBuilder();
  plan.estimate();
  planBlocks(request?.system, plan);
  const messages = request?.messages;
  if (Array.isArray(messages)) {
    for (const message of messages) {
      plan.fixed(tokensPerMessage);
      planBlocks(asObject(message)?.content, plan);
    }
  }
  const tools = asObject(request?.toolConfig)?.tools;
  if (Array.isArray(tools) && tools.length > 0) plan.text(JSON.stringify(tools));
  return plan.build();
}
