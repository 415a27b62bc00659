import type { Provider, Translation } from '../provider.js';
import { messagesFromChat } from './from-openai.js';
import { credentials, maxOutputTokens, prepareBody, rawPath, target, withMaxOutputTokens } from './request.js';
import { deliveredText, streamUsageReader } from './stream.js';
import { chatFromMessages } from './to-openai.js';
import { usageFromBody } from './usage.js';

export const anthropic: Provider = {
  endpoints: new Set(['messages']),
  target,
  credentials,
  rawPath,
  prepareBody,
  maxOutputTokens,
  withMaxOutputTokens,
  // Messages has no n and no background mode.
  outputChoices: () => 1,
  defersOutput: () => false,
  usageFromBody: (_endpoint, body) => usageFromBody(body),
  streamUsageReader,
  // The gateway never asks Anthropic for anything extra, so nothing is hidden.
  isUsageOnlyEvent: () => false,
  deliveredText,
};

// An OpenAI chat completions client asking for a Claude model.
export const fromChat: Translation = { endpoint: () => 'messages', request: messagesFromChat, response: chatFromMessages };
