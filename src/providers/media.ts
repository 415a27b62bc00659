// The media endpoints (images, audio, moderations) and what a provider folder supplies to serve
// them: where each goes upstream, and how to read the provider's report of what it billed from an
// answer (a whole JSON body, or one event of a stream). Providers without media are absent.
import type { ProviderConfig } from '../config/schema.js';
import { openaiMedia } from './openai/media.js';
import type { UpstreamTarget } from './provider.js';

export type MediaEndpoint = 'moderations' | 'image_generations' | 'image_edits' | 'image_variations' | 'transcriptions' | 'translations' | 'speech';

// A token-billed image answer's usage (gpt-image-1).
export interface ImageTokens {
  readonly inputTokens: number;
  // Of inputTokens, those that were images (priced apart); undefined when not broken down.
  readonly imageInputTokens: number | undefined;
  readonly outputTokens: number;
}

// A transcription bills the audio's duration (whisper-1) or its tokens (gpt-4o-transcribe).
export type TranscriptionReport =
  | { readonly kind: 'duration'; readonly durationMs: number }
  | { readonly kind: 'tokens'; readonly audioTokens: number; readonly textTokens: number; readonly outputTokens: number };

export interface SpeechTokens {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface MediaProvider {
  target(config: ProviderConfig, endpoint: MediaEndpoint, upstreamModel: string): UpstreamTarget;
  // Each reads one answer body or stream event; undefined when it carries no report.
  imageTokens(answer: unknown): ImageTokens | undefined;
  transcriptionReport(answer: unknown): TranscriptionReport | undefined;
  speechTokens(answer: unknown): SpeechTokens | undefined;
}

export const mediaProviders: Readonly<Partial<Record<ProviderConfig['kind'], MediaProvider>>> = { openai: openaiMedia };
