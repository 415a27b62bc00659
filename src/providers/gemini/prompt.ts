// Plans the prompt of a generateContent request for the reservation. Google publishes no
// tokenizer for Gemini, so this is an estimate like Anthropic's (o200k_base scaled up, marked
// `estimated`) and settle charges Gemini's own usageMetadata. Images use Google's published
// rule: 258 tokens for an image up to 384 px on both sides, else 258 per 768x768 tile.
import type { ImageSize } from '../../tokens/image-size.js';
import { imageSizeFromBase64 } from '../../tokens/image-size.js';
import { createPlanBuilder, type PlanBuilder, type PromptPlan } from '../../tokens/prompt-plan.js';
import { asObject, type JsonObject } from '../provider.js';

const tokensPerTile = 258;
const smallImagePx = 384;
const tilePx = 768;
// An image whose size cannot be read, or a file by reference: four tiles (a 1536 px square).
const unknownImageTokens = 4 * tokensPerTile;
// Each turn is framed by role markers in Gemini's chat template.
const tokensPerTurn = 4;

export function geminiImageTokens(size: ImageSize | undefined): number {
  if (!size) return unknownImageTokens;
  if (size.width <= smallImagePx && size.height <= smallImagePx) return tokensPerTile;
  return Math.ceil(size.width / tilePx) * Math.ceil(size.height / tilePx) * tokensPerTile;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

// Google accepts both spellings of every field (protobuf JSON); the prompt counts whichever came.
const field = (o: JsonObject | undefined, camel: string, snake: string): unknown => o?.[camel] ?? o?.[snake];

function planPart(part: JsonObject, plan: PlanBuilder): void {
  if (typeof part.text === 'string') {
    plan.text(part.text);
    return;
  }
  const inline = asObject(field(part, 'inlineData', 'inline_data'));
  if (inline) {
    const mime = str(field(inline, 'mimeType', 'mime_type'));
    // Audio, video and PDFs cost by duration or pages, which the gateway does not decode.
    if (!mime.startsWith('image/')) plan.estimate();
    plan.fixed(geminiImageTokens(mime.startsWith('image/') ? imageSizeFromBase64(str(inline.data)) : undefined));
    return;
  }
  if (field(part, 'fileData', 'file_data') !== undefined) {
    plan.estimate();
    plan.fixed(unknownImageTokens);
    return;
  }
  // functionCall, functionResponse, executableCode and parts added later: their JSON stands in.
  plan.text(JSON.stringify(part));
}

function planContent(content: unknown, plan: PlanBuilder): void {
  const parts = asObject(content)?.parts;
  if (!Array.isArray(parts)) return;
  plan.fixed(tokensPerTurn);
  for (const part of parts) {
    const p = asObject(part);
    if (p) planPart(p, plan);
  }
}

// The body has been validated by parseGenerateContent (contents is an array of turns with parts).
export function planGeminiPrompt(body: unknown): PromptPlan {
  const request = asObject(body);
  const plan = createPlanBuilder();
  plan.estimate();
  planContent(field(request, 'systemInstruction', 'system_instruction'), plan);
  const contents = request?.contents;
  if (Array.isArray(contents)) for (const content of contents) planContent(content, plan);
  const tools = request?.tools;
  if (Array.isArray(tools) && tools.length > 0) plan.text(JSON.stringify(tools));
  return plan.build();
}
