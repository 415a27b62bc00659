import type { Provider } from '../provider.js';
import { credentials, maxOutputTokens, outputChoices, prepareBody, rawPath, target, withMaxOutputTokens } from './request.js';
import { deliveredText, streamUsageReader } from './stream.js';
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
