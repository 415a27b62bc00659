// The mock upstream's OpenAI media endpoints, in OpenAI's wire format: moderations, image
// generations/edits/variations (gpt-image-1 answers carry token `usage`; dall-e ones none),
// transcriptions and translations (multipart; whisper-1 reports `usage: {type: duration}` and
// verbose_json's `duration`, gpt-4o-* models token usage, streamed as transcript.text.* events when
// asked), and speech (binary audio, or speech.audio.* SSE events with usage for stream_format sse).
// Multipart uploads are parsed with the platform's own FormData reader, independent of the
// gateway's parser. Directives ([mock status=500 hang no_usage]) work as on the text routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type MockBehaviour, sleep } from './mock-upstream.js';

type Fields = (name: string) => string | undefined;

interface MediaCall {
  readonly model: string;
  readonly field: Fields;
  // Uploaded files by field name.
  readonly files: ReadonlyArray<{ field: string; bytes: Buffer }>;
  readonly b: MockBehaviour;
}

const created = 1_700_000_000;

// Output image tokens of gpt-image-1 by size and quality, as OpenAI documents them; `auto` is
// answered as 1024x1024 medium.
const imageOutputTokens: Record<string, Record<string, number>> = {
  '1024x1024': { low: 272, medium: 1056, high: 4160 },
  '1024x1536': { low: 408, medium: 1584, high: 6240 },
  '1536x1024': { low: 408, medium: 1584, high: 6240 },
};
// Input tokens the mock reports for each uploaded image.
export const mockImageInputTokens = 323;
// Audio tokens the mock reports per second for gpt-4o transcription models.
export const mockAudioTokensPerSecond = 10;
// Whisper's duration for audio that is not a WAV file the mock can read.
export const mockDefaultAudioSeconds = 10;

const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

function imageAnswer({ model, field, files, b }: MediaCall): unknown {
  const n = Number(field('n') ?? 1);
  const tokenBilled = model.startsWith('gpt-image');
  const b64 = tokenBilled || field('response_format') === 'b64_json';
  const data = Array.from({ length: n }, () => (b64 ? { b64_json: png.toString('base64') } : { url: 'https://mock.invalid/image.png', revised_prompt: field('prompt') ?? null }));
  if (!tokenBilled || b.noUsage) return { created, data };
  const size = imageOutputTokens[field('size') ?? ''] ? field('size')! : '1024x1024';
  const quality = ['low', 'medium', 'high'].includes(field('quality') ?? '') ? field('quality')! : 'medium';
  const textTokens = Math.ceil((field('prompt') ?? '').length / 4);
  const imageTokens = files.filter((f) => f.field !== 'mask').length * mockImageInputTokens;
  const outputTokens = n * imageOutputTokens[size]![quality]!;
  return {
    created,
    background: 'opaque',
    output_format: 'png',
    quality,
    size,
    data,
    usage: {
      total_tokens: textTokens + imageTokens + outputTokens,
      input_tokens: textTokens + imageTokens,
      output_tokens: outputTokens,
      input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens },
    },
  };
}

// Seconds of a PCM WAV file, from its header.
export function wavSeconds(file: Buffer): number | undefined {
  if (file.length < 44 || file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  const byteRate = file.readUInt32LE(28);
  return byteRate > 0 ? (file.length - 44) / byteRate : undefined;
}

// A silent mono 8-bit PCM WAV file of the given length (for tests).
export function silentWav(seconds: number, sampleRate = 8_000): Buffer {
  const dataBytes = Math.round(seconds * sampleRate);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(36 + dataBytes, 4);
  head.write('WAVEfmt ', 8, 'latin1');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(sampleRate, 24);
  head.writeUInt32LE(sampleRate, 28);
  head.writeUInt16LE(1, 32);
  head.writeUInt16LE(8, 34);
  head.write('data', 36, 'latin1');
  head.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([head, Buffer.alloc(dataBytes, 0x80)]);
}

const transcript = 'the quick brown fox';

function transcriptionUsage(call: MediaCall, seconds: number): unknown {
  if (call.model === 'whisper-1') return { type: 'duration', seconds: Math.ceil(seconds) };
  const audioTokens = Math.ceil(seconds * mockAudioTokensPerSecond);
  const textTokens = Math.ceil((call.field('prompt') ?? '').length / 4);
  return { type: 'tokens', input_tokens: audioTokens + textTokens, input_token_details: { text_tokens: textTokens, audio_tokens: audioTokens }, output_tokens: 5, total_tokens: audioTokens + textTokens + 5 };
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

async function audioTextAnswer(call: MediaCall, res: ServerResponse, task: 'transcribe' | 'translate'): Promise<void> {
  const file = call.files.find((f) => f.field === 'file');
  const seconds = (file && wavSeconds(file.bytes)) ?? mockDefaultAudioSeconds;
  const format = call.field('response_format') ?? 'json';
  // Translations answer json without usage; transcriptions report it.
  const usage = call.b.noUsage || task === 'translate' ? {} : { usage: transcriptionUsage(call, seconds) };
  if (call.field('stream') === 'true' && call.model !== 'whisper-1') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_upstream_mock' });
    for (const word of transcript.split(' ')) res.write(sse({ type: 'transcript.text.delta', delta: `${word} `, logprobs: null }));
    await sleep(call.b.usageDelayMs);
    res.end(sse({ type: 'transcript.text.done', text: transcript, logprobs: null, ...usage }));
    return;
  }
  if (format === 'text' || format === 'srt' || format === 'vtt') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-request-id': 'req_upstream_mock' });
    res.end(`${transcript}\n`);
    return;
  }
  const body = format === 'verbose_json' ? { task, language: 'english', duration: seconds, text: transcript, segments: [], ...usage } : { text: transcript, ...usage };
  json(res, 200, body);
}

// Speech: the audio bytes (a fixed pattern, 100 bytes per input character) in small chunks, or
// speech.audio.* events with usage when stream_format is sse.
async function speechAnswer(call: MediaCall, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
  const input = String(body.input ?? '');
  const audio = speechAudio(input);
  if (body.stream_format === 'sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_upstream_mock' });
    res.write(sse({ type: 'speech.audio.delta', audio: audio.subarray(0, audio.length >> 1).toString('base64') }));
    res.write(sse({ type: 'speech.audio.delta', audio: audio.subarray(audio.length >> 1).toString('base64') }));
    await sleep(call.b.usageDelayMs);
    const usage = call.b.noUsage ? {} : { usage: { input_tokens: Math.ceil(input.length / 4), output_tokens: input.length * 3, total_tokens: Math.ceil(input.length / 4) + input.length * 3 } };
    res.end(sse({ type: 'speech.audio.done', ...usage }));
    return;
  }
  const types: Record<string, string> = { mp3: 'audio/mpeg', opus: 'audio/opus', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };
  res.writeHead(200, { 'content-type': types[String(body.response_format ?? 'mp3')] ?? 'audio/mpeg', 'transfer-encoding': 'chunked', 'x-request-id': 'req_upstream_mock' });
  for (let i = 0; i < audio.length; i += 4096) {
    if (res.destroyed) return;
    res.write(audio.subarray(i, i + 4096));
    await sleep(call.b.delayMs);
  }
  res.end();
}

export const speechAudio = (input: string): Buffer => Buffer.from(Array.from({ length: input.length * 100 }, (_, i) => (i * 7 + 3) & 0xff));

function moderationAnswer({ model }: MediaCall): unknown {
  const categories = { harassment: false, hate: false, 'self-harm': false, sexual: false, violence: false };
  const scores = Object.fromEntries(Object.keys(categories).map((k) => [k, 0.0001]));
  return { id: 'modr-mock', model, results: [{ flagged: false, categories, category_scores: scores, category_applied_input_types: Object.fromEntries(Object.keys(categories).map((k) => [k, ['text']])) }] };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'req_upstream_mock' });
  res.end(text);
}

type Kind = 'moderations' | 'images' | 'transcribe' | 'translate' | 'speech';
const routes: Record<string, Kind> = {
  '/v1/moderations': 'moderations',
  '/v1/images/generations': 'images',
  '/v1/images/edits': 'images',
  '/v1/images/variations': 'images',
  '/v1/audio/transcriptions': 'transcribe',
  '/v1/audio/translations': 'translate',
  '/v1/audio/speech': 'speech',
};

export const isMediaPath = (path: string): boolean => routes[path] !== undefined;

export async function answerMedia(req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer, b: MockBehaviour): Promise<void> {
  const kind = routes[path]!;
  let body: Record<string, unknown> = {};
  const files: Array<{ field: string; bytes: Buffer }> = [];
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') body[name] ??= value;
      else files.push({ field: name, bytes: Buffer.from(await value.arrayBuffer()) });
    }
  } else {
    body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
  }
  if (b.hang) return;
  await sleep(b.firstDelayMs);
  if (b.status >= 400) {
    json(res, b.status, { error: { message: `mock upstream error ${b.status}`, type: b.status === 429 ? 'rate_limit_error' : 'server_error', param: null, code: `mock_${b.status}` } });
    return;
  }
  const field: Fields = (name) => (body[name] === undefined ? undefined : String(body[name]));
  const call: MediaCall = { model: String(body.model ?? (kind === 'images' ? 'dall-e-2' : 'omni-moderation-latest')), field, files, b };
  if (kind === 'moderations') return json(res, 200, moderationAnswer(call));
  if (kind === 'images') return json(res, 200, imageAnswer(call));
  if (kind === 'speech') return speechAnswer(call, res, body);
  return audioTextAnswer(call, res, kind);
}
