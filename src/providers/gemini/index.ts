import type { JsonObject, Provider, Translation } from '../provider.js';
import { generateContentFromChat } from './from-openai.js';
import { credentials, maxOutputTokens, outputChoices, prepareBody, rawPath, target, withMaxOutputTokens } from './request.js';
import { deliveredText, streamUsageReader } from './stream.js';
import { chatFromGenerateContent } from './to-openai.js';
import { usageFromBody } from './usage.js';

export const gemini: Provider = {
  endpoints: new Set(['generateContent', 'streamGenerateContent']),
  target,
  credentials,
  rawPath,
  prepareBody,
  maxOutputTokens,
  withMaxOutputTokens,
  outputChoices,
  // generateContent has no background mode.
  defersOutput: () => false,
  usageFromBody: (_endpoint, body) => usageFromBody(body),
  streamUsageReader,
  // The gateway asks Gemini for nothing extra, so nothing is hidden.
  isUsageOnlyEvent: () => false,
  deliveredText,
};

// An OpenAI chat completions client asking for a Gemini model; its streams are read as SSE.
const streams = (body: JsonObject): boolean => body.stream === true;
export const fromChat: Translation = {
  endpoint: (body) => (streams(body) ? 'streamGenerateContent' : 'generateContent'),
  search: (body) => (streams(body) ? '?alt=sse' : ''),
  request: generateContentFromChat,
  response: chatFromGenerateContent,
};
