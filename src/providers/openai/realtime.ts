// OpenAI's realtime API (GA and the beta preview share these parts): the session websocket at
// `/realtime?model=`, and the usage of each `response.done` server event:
// usage.{input_tokens, output_tokens, input_token_details.{text,audio,image,cached}_tokens,
// input_token_details.cached_tokens_details.{text,audio,image}_tokens,
// output_token_details.{text,audio}_tokens}.
import type { ProviderConfig } from '../../config/schema.js';
import { asCount, asObject, basePath, parseJson } from '../provider.js';
import type { RealtimeProvider, RealtimeUsage } from '../realtime.js';
import { credentials } from './request.js';

// `realtime` names the protocol; `openai-beta.realtime-v1` selects the beta interface. Anything
// else (the browser's `openai-insecure-api-key.<key>`, `openai-organization.<id>`) stays behind.
const passes = (protocol: string): boolean => protocol === 'realtime' || protocol.startsWith('openai-beta.');

// The bytes `"response.done"` can only be an unescaped JSON string (an escaped one has `\"`), so a
// match is a key or a value of that spelling; the parse then checks it is the event's type.
const startedMarker = Buffer.from('"response.created"');
const finishedMarker = Buffer.from('"response.done"');

function usageOf(raw: unknown): RealtimeUsage | undefined {
  const usage = asObject(raw);
  if (!usage) return undefined;
  const inDetails = asObject(usage.input_token_details);
  const cachedDetails = asObject(inDetails?.cached_tokens_details);
  const outDetails = asObject(usage.output_token_details);
  const inputTokens = asCount(usage.input_tokens);
  const outputTokens = asCount(usage.output_tokens);
  // Each part is bounded by what contains it, so a malformed breakdown cannot add tokens or
  // hide them: the remainder is priced at the dearest rate.
  let left = inputTokens;
  const take = (value: unknown, from: number): number => Math.min(asCount(value), from);
  const text = take(inDetails?.text_tokens, left);
  left -= text;
  const audio = take(inDetails?.audio_tokens, left);
  left -= audio;
  const image = take(inDetails?.image_tokens, left);
  left -= image;
  const cachedText = take(cachedDetails?.text_tokens, text);
  const cachedAudio = take(cachedDetails?.audio_tokens, audio);
  const cachedImage = take(cachedDetails?.image_tokens, image);
  const outText = take(outDetails?.text_tokens, outputTokens);
  const outAudio = take(outDetails?.audio_tokens, outputTokens - outText);
  return {
    inputTokens,
    outputTokens,
    input: { text, audio, image, other: left },
    cached: { text: cachedText, audio: cachedAudio, image: cachedImage },
    output: { text: outText, audio: outAudio, other: outputTokens - outText - outAudio },
  };
}

export const openaiRealtime: RealtimeProvider = {
  target(config: ProviderConfig, upstreamModel: string) {
    const query = new URLSearchParams({ ...config.query, model: upstreamModel });
    return { path: `${basePath(config)}/realtime?${query.toString()}`, headers: credentials(config) };
  },
  forwardedSubprotocols: (offered) => offered.filter(passes),
  responseEvent(frame) {
    const finished = frame.includes(finishedMarker);
    if (!finished && !frame.includes(startedMarker)) return undefined;
    const event = asObject(parseJson(frame.toString('utf8')));
    if (event?.type === 'response.created') return { kind: 'started' };
    if (event?.type === 'response.done') return { kind: 'finished', usage: usageOf(asObject(event.response)?.usage) };
    return undefined;
  },
};
