import type { JsonObject, Provider, Translation } from '../provider.js';
import { converseFromChat } from './from-openai.js';
import { chatFromConverse } from './to-openai.js';
import { eventStreamFraming } from './event-stream.js';
import { credentials, maxOutputTokens, prepareBody, rawPath, target, withMaxOutputTokens } from './request.js';
import { sign } from './sign.js';
import { deliveredText, streamUsageReader } from './stream.js';
import { usageFromBody } from './usage.js';

export const bedrock: Provider = {
  endpoints: new Set(['converse', 'converseStream']),
  streamFraming: eventStreamFraming,
  sign,
  target,
  credentials,
  rawPath,
  prepareBody,
  maxOutputTokens,
  withMaxOutputTokens,
  // Converse generates one answer.
  outputChoices: () => 1,
  defersOutput: () => false,
  usageFromBody: (_endpoint, body) => usageFromBody(body),
  streamUsageReader,
  // The gateway asks Bedrock for nothing extra, so nothing is hidden.
  isUsageOnlyEvent: () => false,
  deliveredText,
};

// An OpenAI chat completions client asking for a Bedrock model.
const streams = (body: JsonObject): boolean => body.stream === true;
export const fromChat: Translation = {
  endpoint: (body) => (streams(body) ? 'converseStream' : 'converse'),
  request: converseFromChat,
  response: chatFromConverse,
};
