// The media routes (images, audio, moderations) driven by the official openai SDK through a real
// gateway (embedded budget twin + PGlite ledger) against the mock upstream's OpenAI media wire
// format: each reserves before forwarding, is refused over budget without reaching the provider,
// and settles its real cost into the ledger.
import { sql } from 'drizzle-orm';
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { mockImageInputTokens, silentWav, speechAudio } from '../../bench/mock-upstream-media.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { rawRequest } from '../security/raw-http.js';

// Generous: the machine running the suite is shared.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

let mock: MockUpstream;
let gw: TestGateway;

const requestsPerHour = 6;
const costPerMonthMicros = 1_000_000;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: {
      'budget.budgets': [
        { scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: costPerMonthMicros },
        { scope: 'user', scopeId: '*', metric: 'requests', window: 'hour', limit: requestsPerHour },
      ],
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

// Each test is its own user: budgets are per user, and the ledger is read by user.
async function clientFor(user: string) {
  const created = await gw.newKey({ user });
  return { client: new OpenAI({ apiKey: created.key, baseURL: `${gw.url}/v1`, maxRetries: 0 }), userId: created.userId, key: created.key };
}

type Row = { model: string; prompt_tokens: number; completion_tokens: number; cost_micros: number; estimated: boolean; status: number; unmetered: boolean };
async function ledger(userId: string): Promise<Row[]> {
  const result = await gw.app.database.db.execute(
    sql`select model, prompt_tokens, completion_tokens, cost_micros, estimated, status, unmetered from usage_events where user_id = ${userId} order by time`,
  );
  return (result as unknown as { rows: Row[] }).rows.map((r) => ({ ...r, prompt_tokens: Number(r.prompt_tokens), completion_tokens: Number(r.completion_tokens), cost_micros: Number(r.cost_micros), status: Number(r.status) }));
}
const settled = async (userId: string, rows: number) => {
  await expect.poll(async () => (await ledger(userId)).length, { timeout: 10_000 }).toBe(rows);
  return ledger(userId);
};

// The multipart fields and files the mock received, read with the platform's FormData parser.
async function receivedForm() {
  const last = mock.requests.at(-1)!;
  return new Response(last.raw, { headers: { 'content-type': String(last.headers['content-type']) } }).formData();
}

const refusedWithoutUpstream = async (call: () => Promise<unknown>, code: string) => {
  const before = mock.requests.length;
  const error = await call().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code });
  expect(mock.requests.length).toBe(before);
  return error as InstanceType<typeof OpenAI.APIError>;
};

describe('moderations', () => {
  it('are free but counted: a ledger row at zero cost, and the request limit applies', async () => {
    const { client, userId } = await clientFor('media-moderation');
    for (let i = 0; i < requestsPerHour; i++) {
      const answer = await client.moderations.create({ model: 'omni-moderation-latest', input: 'hello' });
      expect(answer.results[0]?.flagged).toBe(false);
    }
    expect(mock.requests.at(-1)!.path).toBe('/v1/moderations');
    const refusal = await refusedWithoutUpstream(() => client.moderations.create({ input: 'hello' }), 'budget_exceeded');
    expect(refusal.status).toBe(429);
    expect(refusal.message).toContain('requests per hour');
    const rows = await settled(userId, requestsPerHour);
    expect(rows.every((r) => r.model === 'omni-moderation-latest' && r.cost_micros === 0 && !r.unmetered && r.status === 200)).toBe(true);
  });
});

describe('images', () => {
  it('charges a dall-e-3 generation its per-image price for the size and quality asked', async () => {
    const { client, userId } = await clientFor('media-dalle3');
    const image = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse', size: '1024x1792', quality: 'hd' });
    expect(image.data?.[0]?.url).toBe('https://mock.invalid/image.png');
    expect(mock.requests.at(-1)).toMatchObject({ path: '/v1/images/generations', body: { model: 'dall-e-3', size: '1024x1792', quality: 'hd' } });
    expect(await settled(userId, 1)).toEqual([expect.objectContaining({ model: 'dall-e-3', cost_micros: 120_000, estimated: false, prompt_tokens: 0 })]);
  });

  it('charges gpt-image-1 by the image tokens its answer reports', async () => {
    const { client, userId } = await clientFor('media-gpt-image');
    const prompt = 'a red bicycle in the rain';
    const image = await client.images.generate({ model: 'gpt-image-1', prompt, n: 2, size: '1024x1024', quality: 'low' });
    expect(image.data).toHaveLength(2);
    expect(image.usage?.output_tokens).toBe(2 * 272);
    const textTokens = Math.ceil(prompt.length / 4);
    // $5 per 1M text input tokens, $40 per 1M image output tokens, in micro-USD.
    expect(await settled(userId, 1)).toEqual([
      expect.objectContaining({ model: 'gpt-image-1', prompt_tokens: textTokens, completion_tokens: 544, cost_micros: Math.ceil(textTokens * 5 + 544 * 40), estimated: false }),
    ]);
  });

  it('refuses a generation whose worst case is over budget before it reaches the provider', async () => {
    const { client, userId } = await clientFor('media-image-over');
    // 10 x $0.25 (1536x1024 high) is more than the $1 budget.
    const refusal = await refusedWithoutUpstream(() => client.images.generate({ model: 'gpt-image-1', prompt: 'x', n: 10, size: '1536x1024', quality: 'high' }), 'budget_exceeded');
    expect(refusal.status).toBe(429);
    expect(refusal.message).toContain('costMicros per month');
    // What the refused reservation held is free again: a smaller request fits.
    await client.images.generate({ model: 'gpt-image-1', prompt: 'x', n: 1, size: '1024x1024', quality: 'low' });
    expect((await settled(userId, 1))[0]).toMatchObject({ completion_tokens: 272 });
  });

  it('edits an uploaded image, forwarding the file part byte for byte and charging its input image tokens', async () => {
    const { client, userId } = await clientFor('media-edit');
    const png = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
    const prompt = 'add a hat';
    const edited = await client.images.edit({ model: 'gpt-image-1', image: await toFile(png, 'cat.png', { type: 'image/png' }), prompt });
    expect(edited.data?.[0]?.b64_json).toBeTruthy();
    expect(mock.requests.at(-1)!.path).toBe('/v1/images/edits');
    const form = await receivedForm();
    const uploaded = form.get('image') as File;
    expect(Buffer.from(await uploaded.arrayBuffer()).equals(png)).toBe(true);
    expect(form.get('prompt')).toBe(prompt);
    const textTokens = Math.ceil(prompt.length / 4);
    // auto size and quality: the mock answers 1024x1024 medium (1056 output tokens); image input $10/1M.
    expect(await settled(userId, 1)).toEqual([
      expect.objectContaining({ model: 'gpt-image-1', prompt_tokens: textTokens + mockImageInputTokens, completion_tokens: 1056, cost_micros: textTokens * 5 + mockImageInputTokens * 10 + 1056 * 40 }),
    ]);
  });

  it('charges a dall-e-2 variation per image at the size asked', async () => {
    const { client, userId } = await clientFor('media-variation');
    const variation = await client.images.createVariation({ model: 'dall-e-2', image: await toFile(Buffer.from('png-bytes'), 'a.png', { type: 'image/png' }), n: 2, size: '256x256' });
    expect(variation.data).toHaveLength(2);
    expect(await settled(userId, 1)).toEqual([expect.objectContaining({ model: 'dall-e-2', cost_micros: 2 * 16_000, estimated: false })]);
  });

  it('charges nothing when the provider refuses, and answers the model of another kind with a 400', async () => {
    const { client, userId } = await clientFor('media-image-errors');
    const failed = await client.images.generate({ model: 'dall-e-2', prompt: '[mock status=500]' }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect(await settled(userId, 1)).toEqual([expect.objectContaining({ model: 'dall-e-2', cost_micros: 0, status: 500 })]);
    const wrongKind = await refusedWithoutUpstream(() => client.images.generate({ model: 'gpt-4o-mini', prompt: 'x' }), 'invalid_request');
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.error).toMatchObject({ param: 'model' });
    const unpriced = await refusedWithoutUpstream(() => client.images.generate({ model: 'dall-e-3', prompt: 'x', size: '256x256' }), 'invalid_request');
    expect(unpriced.error).toMatchObject({ param: 'size' });
  });
});

describe('audio', () => {
  it('charges a whisper-1 transcription its minutes', async () => {
    const { client, userId } = await clientFor('media-whisper');
    const wav = silentWav(90);
    const transcription = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav, 'talk.wav', { type: 'audio/wav' }) });
    expect(transcription.text).toBe('the quick brown fox');
    expect(mock.requests.at(-1)!.path).toBe('/v1/audio/transcriptions');
    const file = (await receivedForm()).get('file') as File;
    expect(Buffer.from(await file.arrayBuffer()).equals(wav)).toBe(true);
    // 90 s at $0.006 a minute.
    expect(await settled(userId, 1)).toEqual([expect.objectContaining({ model: 'whisper-1', cost_micros: 9_000, estimated: false })]);
  });

  it('charges gpt-4o-transcribe by its audio and text tokens, streamed or not', async () => {
    const { client, userId } = await clientFor('media-4o-transcribe');
    const file = await toFile(silentWav(30), 'talk.wav', { type: 'audio/wav' });
    await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file });
    const stream = await client.audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await toFile(silentWav(30), 'talk.wav', { type: 'audio/wav' }), stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('transcript.text.done');
    // 300 audio tokens at $6 per 1M, 5 output tokens at $10 per 1M.
    const rows = await settled(userId, 2);
    expect(rows.map((r) => [r.prompt_tokens, r.completion_tokens, r.cost_micros, r.estimated])).toEqual([
      [300, 5, 300 * 6 + 5 * 10, false],
      [300, 5, 300 * 6 + 5 * 10, false],
    ]);
  });

  it('charges a translation the duration verbose_json reports, and the reservation when the answer says nothing', async () => {
    const { client, userId } = await clientFor('media-translate');
    const verbose = await client.audio.translations.create({ model: 'whisper-1', file: await toFile(silentWav(45), 'a.wav'), response_format: 'verbose_json' });
    expect(verbose).toMatchObject({ duration: 45 });
    const text = await client.audio.translations.create({ model: 'whisper-1', file: await toFile(silentWav(45), 'a.wav'), response_format: 'text' });
    expect(String(text).trim()).toBe('the quick brown fox');
    const rows = await settled(userId, 2);
    expect(rows[0]).toMatchObject({ cost_micros: 4_500, estimated: false });
    // From the WAV header: 45 s of data plus its 44-byte header, rounded up to a micro-dollar.
    expect(rows[1]).toMatchObject({ estimated: true });
    expect(rows[1]!.cost_micros).toBeGreaterThanOrEqual(4_500);
    expect(rows[1]!.cost_micros).toBeLessThanOrEqual(4_501);
  });

  it('refuses an upload that names an alias, since the upload is forwarded unchanged', async () => {
    const { client } = await clientFor('media-alias');
    const file = await toFile(silentWav(1), 'a.wav');
    const refusal = await refusedWithoutUpstream(() => client.audio.transcriptions.create({ model: 'openai/whisper-1', file }), 'invalid_request');
    expect(refusal.error).toMatchObject({ param: 'model' });
    expect(refusal.message).toContain('"whisper-1"');
  });

  it('refuses a transcription whose longest duration is over budget before it reaches the provider', async () => {
    const { client, userId } = await clientFor('media-whisper-over');
    // 3 hours at 1 kHz (10.8 MB): 180 minutes at $0.006 is more than the $1 budget.
    const long = await toFile(silentWav(3 * 3600, 1000), 'long.wav', { type: 'audio/wav' });
    await refusedWithoutUpstream(() => client.audio.transcriptions.create({ model: 'whisper-1', file: long }), 'budget_exceeded');
    expect(await ledger(userId)).toEqual([]);
  });

  it('streams tts-1 speech back untouched and charges it per character', async () => {
    const { client, userId } = await clientFor('media-tts');
    const input = 'Hello from the gateway — ünïcode counts as characters.';
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await response.arrayBuffer()).equals(speechAudio(input))).toBe(true);
    // $15 per 1M characters.
    expect(await settled(userId, 1)).toEqual([expect.objectContaining({ model: 'tts-1', cost_micros: [...input].length * 15, estimated: false })]);
  });

  it('charges gpt-4o-mini-tts by the tokens its streamed usage reports', async () => {
    const { client, userId } = await clientFor('media-mini-tts');
    const input = 'Say this.';
    const response = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input, stream_format: 'sse' });
    expect(await response.text()).toContain('speech.audio.done');
    const inputTokens = Math.ceil(input.length / 4);
    const outputTokens = input.length * 3;
    expect(await settled(userId, 1)).toEqual([
      expect.objectContaining({ model: 'gpt-4o-mini-tts', prompt_tokens: inputTokens, completion_tokens: outputTokens, cost_micros: Math.ceil(inputTokens * 0.6 + outputTokens * 12), estimated: false }),
    ]);
  });
});

describe('multipart uploads', () => {
  const boundary = 'tollgate-test-boundary';
  const part = (name: string, value: string) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;

  it('refuses a body past the upload limit with 413 body_too_large before reading it', async () => {
    const { key } = await clientFor('media-too-large');
    const before = mock.requests.length;
    const res = await request(`${gw.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(27 * 1024 * 1024) },
      body: part('model', 'whisper-1'),
    }).catch((err: unknown) => err);
    // The gateway answers at once and closes; a client still writing may see the reset instead.
    if (!(res instanceof Error)) {
      const answer = res as Awaited<ReturnType<typeof request>>;
      expect(answer.statusCode).toBe(413);
      expect(await answer.body.json()).toMatchObject({ error: { code: 'body_too_large', type: 'invalid_request_error' } });
    }
    expect(mock.requests.length).toBe(before);
  });

  it.each([
    ['a content type without a boundary', 'multipart/form-data; charset=utf-8', part('model', 'whisper-1')],
    ['a body cut short', `multipart/form-data; boundary=${boundary}`, `${part('model', 'whisper-1')}--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\nabc`],
    ['too many parts', `multipart/form-data; boundary=${boundary}`, `${Array.from({ length: 50 }, (_, i) => part(`f${i}`, 'x')).join('')}--${boundary}--\r\n`],
    ['no file part', `multipart/form-data; boundary=${boundary}`, `${part('model', 'whisper-1')}--${boundary}--\r\n`],
    ['a JSON body', 'application/json', '{"model":"whisper-1"}'],
  ])('refuses %s with 400 invalid_request without reaching the provider', async (_name, contentType, body) => {
    const { key } = await clientFor(`media-bad-${_name.replaceAll(' ', '-')}`);
    const before = mock.requests.length;
    const res = await rawRequest(gw.url, 'POST', '/v1/audio/transcriptions', { authorization: `Bearer ${key}`, 'content-type': contentType }, body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error' } });
    expect(mock.requests.length).toBe(before);
  });
});
