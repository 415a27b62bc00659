// Realtime websocket sessions and what a provider folder supplies to meter them: where a session
// goes upstream, which handshake subprotocols may pass, and the usage a finished response reports.
// Providers without a realtime API are absent.
import type { ProviderConfig } from '../config/schema.js';
import { openaiRealtime } from './openai/realtime.js';
import type { UpstreamTarget } from './provider.js';

// One response's tokens by modality, as the provider bills them. Input counts include their
// cached part; `other` is what the breakdown does not account for (all of it, without one),
// priced at the dearest rate of its direction.
export interface RealtimeUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly input: { readonly text: number; readonly audio: number; readonly image: number; readonly other: number };
  // Cached reads by modality; a discount applies only where the provider says which modality.
  readonly cached: { readonly text: number; readonly audio: number; readonly image: number };
  readonly output: { readonly text: number; readonly audio: number; readonly other: number };
}

export type RealtimeResponseEvent = { readonly kind: 'started' } | { readonly kind: 'finished'; readonly usage: RealtimeUsage | undefined };

export interface RealtimeProvider {
  // The websocket path (with its query) and the credential headers of a session on this model.
  target(config: ProviderConfig, upstreamModel: string): UpstreamTarget;
  // Of the subprotocols a client offered, those the upstream may see (never a credential).
  forwardedSubprotocols(offered: readonly string[]): string[];
  // A server event (a text frame's bytes): a response starting, one finished with the usage it
  // reports (undefined when it reports none), or neither. Most frames are audio and are told
  // apart without parsing.
  responseEvent(frame: Buffer): RealtimeResponseEvent | undefined;
}

export const realtimeProviders: Readonly<Partial<Record<ProviderConfig['kind'], RealtimeProvider>>> = { openai: openaiRealtime };
