import type { Provider, Translation } from '../provider.js';
import { chatRequestFromMessages } from './from-anthropic.js';
import { credentials, defersOutput, maxOutputTokens, outputChoices, prepareBody, rawPath, target, withMaxOutputTokens } from './request.js';
import { deliveredText, isUsageOnlyEvent, streamUsageReader } from './stream.js';
import { messagesAnswerFromChat } from './to-anthropic.js';
import { usageFromBody } from './usage.js';

export const openai: Provider = {
  endpoints: new Set(['chat', 'completions', 'embeddings', 'responses']),
  target,
  credentials,
  rawPath,
  prepareBody,
  maxOutputTokens,
  withMaxOutputTokens,
  outputChoices,
  defersOutput,
  usageFromBody: (_endpoint, body) => usageFromBody(body),
  streamUsageReader,
  isUsageOnlyEvent,
  deliveredText,
};

// An Anthropic Messages client asking for an OpenAI model.
export const fromMessages: Translation = { endpoint: () => 'chat', request: chatRequestFromMessages, response: messagesAnswerFromChat };
