// Counts prompts and completions for the budget engine. A request body becomes a prompt plan (a
// cheap walk on the main thread); the plan's texts are tokenized inline when they are short and
// in the worker pool when they are long, so a 1 MB prompt never stalls other requests. Long text
// is never tokenized on the main thread: when the pool cannot answer in time (or, for an answer
// already delivered, at all) the count is the byte length, an upper bound marked as an estimate.
import type { CatalogModel, Encoding } from '../config/catalog.js';
import type { Endpoint } from '../providers/types.js';
import { estimateEncoding, estimateTextScalePermille, planAnthropicPrompt } from './anthropic-prompt.js';
import { planGeminiPrompt } from '../providers/gemini/prompt.js';
import { planConversePrompt } from '../providers/bedrock/prompt.js';
import { planChatPrompt } from './chat-prompt.js';
import { countTextsTokens, upperBoundTokens } from './count-text.js';
import type { TextEncoding } from './encoders.js';
import { TokenizerOverloadedError, TokenizerTimeoutError, type TokenizerPool } from './pool.js';
import { planChars, type PromptPlan } from './prompt-plan.js';
import { planResponsesPrompt } from './responses-prompt.js';
import { planCompletionsPrompt, planEmbeddingsPrompt } from './text-prompt.js';

export interface PromptCount {
  readonly promptTokens: number;
  readonly estimated: boolean;
  readonly encoding: Encoding;
}

export interface CompletionCount {
  readonly tokens: number;
  readonly estimated: boolean;
}

export interface PromptCounterOptions {
  // Prompts with at most this many characters of text are counted on the calling thread.
  readonly inlineMaxChars: number;
  readonly pool: TokenizerPool;
}

export interface PromptCounter {
  // Small prompts come back as a plain value, large ones as a promise; `await` takes either.
  // Throws GatewayError invalid_request for a malformed body, tokenizer_overloaded when the pool is full.
  countPrompt(endpoint: Endpoint, body: unknown, model: CatalogModel): PromptCount | Promise<PromptCount>;
  // For responses that carried no usage: the text delivered to the client.
  countCompletion(text: string, model: CatalogModel): Promise<CompletionCount>;
}

// Set from bench/tokens.ts (o200k_base, Node 20): counting inline costs ~55 µs per KB of text on
// the event loop, a pool round trip ~25 µs at p50 plus the count on a worker. Below ~1 KB the
// hop costs more than it saves; at 4 KB inline counting blocks for ~0.25 ms, a quarter of the
// gateway's whole overhead budget, which is as much as one request may take from all the others.
export const defaultInlineMaxChars = 4 * 1024;

const planners: Readonly<Record<Endpoint, (body: unknown, model: CatalogModel) => PromptPlan>> = {
  chat: planChatPrompt,
  responses: planResponsesPrompt,
  messages: (body) => planAnthropicPrompt(body),
  completions: (body) => planCompletionsPrompt(body),
  embeddings: (body) => planEmbeddingsPrompt(body),
  generateContent: (body) => planGeminiPrompt(body),
  streamGenerateContent: (body) => planGeminiPrompt(body),
  converse: (body) => planConversePrompt(body),
  converseStream: (body) => planConversePrompt(body),
};

interface TextCounting {
  readonly encoding: TextEncoding;
  readonly scalePermille: number;
}

const textCounting = (encoding: Encoding): TextCounting =>
  encoding === 'estimate' ? { encoding: estimateEncoding, scalePermille: estimateTextScalePermille } : { encoding, scalePermille: 1000 };

// Integer ceiling of tokens x permille / 1000: an estimate rounds towards the safe side.
const scaleTokens = (tokens: number, scalePermille: number): number => Math.floor((tokens * scalePermille + 999) / 1000);

interface TextTokens {
  readonly tokens: number;
  readonly upperBound: boolean;
}

// Counts in the pool; a timed-out count (and, with boundOverloaded, a full pool) becomes the upper
// bound instead of an error.
async function countInPool(pool: TokenizerPool, texts: readonly string[], encoding: TextEncoding, boundOverloaded: boolean): Promise<TextTokens> {
  try {
    return { tokens: await pool.countTexts(texts, encoding), upperBound: false };
  } catch (err) {
    if (err instanceof TokenizerTimeoutError || (boundOverloaded && err instanceof TokenizerOverloadedError)) {
      return { tokens: upperBoundTokens(texts), upperBound: true };
    }
    throw err;
  }
}

export function createPromptCounter(options: PromptCounterOptions): PromptCounter {
  const { inlineMaxChars, pool } = options;
  if (!Number.isInteger(inlineMaxChars) || inlineMaxChars < 0) {
    throw new TypeError(`inlineMaxChars must be a non-negative integer, got ${inlineMaxChars}`);
  }

  return {
    countPrompt(endpoint, body, model) {
      const plan = planners[endpoint](body, model);
      const counting = textCounting(model.encoding);
      const result = ({ tokens, upperBound }: TextTokens): PromptCount => ({
        promptTokens: plan.fixedTokens + scaleTokens(tokens, counting.scalePermille),
        estimated: plan.estimated || model.encoding === 'estimate' || upperBound,
        encoding: model.encoding,
      });
      if (planChars(plan) <= inlineMaxChars) return result({ tokens: countTextsTokens(plan.texts, counting.encoding), upperBound: false });
      // A full pool refuses the request (tokenizer_overloaded) rather than over-charge it: nothing
      // has been sent upstream yet, so the client can retry.
      return countInPool(pool, plan.texts, counting.encoding, false).then(result);
    },

    async countCompletion(text, model) {
      const counting = textCounting(model.encoding);
      // The answer is already delivered: it must be charged, so a full pool gives the upper bound.
      const { tokens, upperBound } =
        text.length <= inlineMaxChars
          ? { tokens: countTextsTokens([text], counting.encoding), upperBound: false }
          : await countInPool(pool, [text], counting.encoding, true);
      return { tokens: scaleTokens(tokens, counting.scalePermille), estimated: model.encoding === 'estimate' || upperBound };
    },
  };
}
