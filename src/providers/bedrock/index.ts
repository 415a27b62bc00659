import type { Provider } from '../provider.js';
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
