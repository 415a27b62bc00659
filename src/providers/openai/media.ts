// OpenAI's media endpoints: their paths (Azure's deployment template applies as for text), and the
// billing facts their answers carry: gpt-image-1's `usage` (input text/image and output tokens),
// a transcription's `usage` ({type: duration, seconds} or {type: tokens, ...}) or verbose_json's
// `duration`, and gpt-4o-mini-tts's streamed `speech.audio.done` usage. Binary speech and text
// transcripts carry none.
import type { ProviderConfig } from '../../config/schema.js';
import type { ImageTokens, MediaEndpoint, MediaProvider, SpeechTokens, TranscriptionReport } from '../media.js';
import { asCount, asObject, basePath, type UpstreamTarget, withQuery } from '../provider.js';
import { credentials } from './request.js';

const paths: Record<MediaEndpoint, string> = {
  moderations: '/moderations',
  image_generations: '/images/generations',
  image_edits: '/images/edits',
  image_variations: '/images/variations',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
  speech: '/audio/speech',
};

function target(config: ProviderConfig, endpoint: MediaEndpoint, upstreamModel: string): UpstreamTarget {
  const route = paths[endpoint];
  const path = config.pathTemplate ? config.pathTemplate.replaceAll('{deployment}', encodeURIComponent(upstreamModel)).replaceAll('{path}', route) : route;
  return { path: withQuery(basePath(config) + path, config.query), headers: credentials(config) };
}

const usageOf = (answer: unknown) => asObject(asObject(answer)?.usage);

function imageTokens(answer: unknown): ImageTokens | undefined {
  const usage = usageOf(answer);
  if (!usage || !('output_tokens' in usage)) return undefined;
  const details = asObject(usage.input_tokens_details);
  return {
    inputTokens: asCount(usage.input_tokens),
    imageInputTokens: details && 'image_tokens' in details ? asCount(details.image_tokens) : undefined,
    outputTokens: asCount(usage.output_tokens),
  };
}

// Seconds as OpenAI writes them (8.47) to whole milliseconds, rounded up.
const secondsToMs = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.ceil(value * 1000) : undefined;

function transcriptionReport(answer: unknown): TranscriptionReport | undefined {
  const usage = usageOf(answer);
  if (usage?.type === 'tokens') {
    const details = asObject(usage.input_token_details);
    const input = asCount(usage.input_tokens);
    const audioTokens = details ? asCount(details.audio_tokens) : input;
    return { kind: 'tokens', audioTokens, textTokens: Math.max(0, input - audioTokens), outputTokens: asCount(usage.output_tokens) };
  }
  const durationMs = usage?.type === 'duration' ? secondsToMs(usage.seconds) : secondsToMs(asObject(answer)?.duration);
  return durationMs === undefined ? undefined : { kind: 'duration', durationMs };
}

function speechTokens(answer: unknown): SpeechTokens | undefined {
  const usage = usageOf(answer);
  return usage && 'output_tokens' in usage ? { inputTokens: asCount(usage.input_tokens), outputTokens: asCount(usage.output_tokens) } : undefined;
}

export const openaiMedia: MediaProvider = { target, imageTokens, transcriptionReport, speechTokens };
