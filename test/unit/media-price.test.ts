// The media routes' money math against the shipped catalog: worst cases before, charges after,
// the WAV duration bound, OpenAI's media usage readers, and the unit reservation handed to the
// token engine.
import { describe, expect, it } from 'vitest';
import { silentWav } from '../../bench/mock-upstream-media.js';
import { loadConfig } from '../../src/config/load.js';
import { maxAudioDurationMs } from '../../src/metering/audio-duration.js';
import { reservationModel } from '../../src/metering/media-meter.js';
import { imageCharge, imageReserve, speechCharge, speechReserve, transcriptionCharge, transcriptionReserve } from '../../src/metering/media-price.js';
import { dearestInputPerMTok, maxCostMicros } from '../../src/pricing/cost.js';
import { openaiMedia } from '../../src/providers/openai/media.js';

const catalog = loadConfig({ env: {}, overrides: {} }).catalog;
const model = (name: string) => catalog.resolve(name)!;
const image = (over: Partial<Parameters<typeof imageReserve>[1]> = {}) => ({ n: 1, size: undefined, quality: undefined, promptBytes: 0, inputImages: 0, ...over });

describe('image prices', () => {
  it('prices dall-e per image at OpenAI defaults, exactly before and after', () => {
    expect(imageReserve(model('dall-e-3'), image()).costMicros).toBe(40_000);
    expect(imageReserve(model('dall-e-3'), image({ size: '1792x1024', quality: 'hd' })).costMicros).toBe(120_000);
    expect(imageReserve(model('dall-e-2'), image({ n: 3, size: '512x512' })).costMicros).toBe(54_000);
    expect(imageCharge(model('dall-e-2'), image({ n: 3, size: '512x512' }), undefined)).toEqual({ charge: { promptTokens: 0, completionTokens: 0, costMicros: 54_000 }, estimated: false });
  });

  it('reserves the dearest price gpt-image-1 may pick for auto, and every input token at the dearer rate', () => {
    const auto = imageReserve(model('gpt-image-1'), image({ n: 2 }));
    expect(auto.costMicros).toBe(2 * 250_000);
    const edit = imageReserve(model('gpt-image-1'), image({ size: '1024x1024', quality: 'low', promptBytes: 100, inputImages: 1 }));
    // The whole 32,000-token context at $10 per 1M image input tokens, plus $0.011.
    expect(edit).toEqual({ promptTokens: 32_000, completionTokens: 6_240, costMicros: 320_000 + 11_000 });
  });

  it('charges gpt-image-1 from its usage, undivided input at the image input price', () => {
    const m = model('gpt-image-1');
    expect(imageCharge(m, image(), { inputTokens: 50, imageInputTokens: 40, outputTokens: 1056 }).charge.costMicros).toBe(10 * 5 + 40 * 10 + 1056 * 40);
    expect(imageCharge(m, image(), { inputTokens: 50, imageInputTokens: undefined, outputTokens: 0 }).charge.costMicros).toBe(50 * 10);
    expect(imageCharge(m, image(), undefined).estimated).toBe(true);
  });

  it('refuses a size the catalog has no price for, naming the size', () => {
    expect(() => imageReserve(model('dall-e-3'), image({ size: '256x256' }))).toThrow(expect.objectContaining({ code: 'invalid_request', param: 'size' }));
  });
});

describe('audio prices', () => {
  it('bounds a WAV file by its header and anything else by its size at 16 kbit/s', () => {
    const wav = silentWav(60);
    expect(maxAudioDurationMs(wav.length, wav.subarray(0, 64))).toBe(Math.ceil((wav.length * 1000) / 8000));
    expect(maxAudioDurationMs(120_000, Buffer.from('ID3 not a wav'))).toBe(60_000);
    // A header whose byte rate disagrees with its format is not believed.
    const lying = Buffer.from(wav.subarray(0, 64));
    lying.writeUInt32LE(1_000_000, 28);
    expect(maxAudioDurationMs(wav.length, lying)).toBe(Math.ceil((wav.length * 1000) / 2000));
  });

  it('reserves and charges whisper-1 per minute, gpt-4o-transcribe by tokens', () => {
    const request = { maxDurationMs: 90_000, promptBytes: 0 };
    expect(transcriptionReserve(model('whisper-1'), request).costMicros).toBe(9_000);
    expect(transcriptionCharge(model('whisper-1'), request, { kind: 'duration', durationMs: 30_500 }).charge.costMicros).toBe(3_050);
    expect(transcriptionCharge(model('gpt-4o-transcribe'), request, { kind: 'tokens', audioTokens: 300, textTokens: 4, outputTokens: 5 }).charge).toEqual({ promptTokens: 304, completionTokens: 5, costMicros: 1_800 + 10 + 50 });
    expect(transcriptionCharge(model('whisper-1'), request, undefined)).toEqual({ charge: transcriptionReserve(model('whisper-1'), request), estimated: true });
  });

  it('prices tts-1 by characters and gpt-4o-mini-tts by tokens', () => {
    expect(speechReserve(model('tts-1-hd'), { characters: 1000, inputBytes: 1200 }).costMicros).toBe(30_000);
    expect(speechCharge(model('gpt-4o-mini-tts'), { characters: 10, inputBytes: 10 }, { inputTokens: 3, outputTokens: 30 }).charge.costMicros).toBe(Math.ceil(3 * 0.6 + 30 * 12));
    expect(speechCharge(model('gpt-4o-mini-tts'), { characters: 10, inputBytes: 10 }, undefined).estimated).toBe(true);
  });
});

describe("OpenAI's media usage readers", () => {
  it('read image tokens, transcription duration or tokens, and speech usage', () => {
    expect(openaiMedia.imageTokens({ usage: { input_tokens: 50, output_tokens: 272, input_tokens_details: { text_tokens: 10, image_tokens: 40 } } })).toEqual({ inputTokens: 50, imageInputTokens: 40, outputTokens: 272 });
    expect(openaiMedia.imageTokens({ data: [] })).toBeUndefined();
    expect(openaiMedia.transcriptionReport({ text: 'x', usage: { type: 'duration', seconds: 9 } })).toEqual({ kind: 'duration', durationMs: 9_000 });
    expect(openaiMedia.transcriptionReport({ text: 'x', duration: 8.4711 })).toEqual({ kind: 'duration', durationMs: 8_472 });
    expect(openaiMedia.transcriptionReport({ type: 'transcript.text.done', usage: { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 4, audio_tokens: 10 }, output_tokens: 3 } })).toEqual({ kind: 'tokens', audioTokens: 10, textTokens: 4, outputTokens: 3 });
    expect(openaiMedia.transcriptionReport({ text: 'x', duration: -1 })).toBeUndefined();
    expect(openaiMedia.speechTokens({ type: 'speech.audio.done', usage: { input_tokens: 3, output_tokens: 30 } })).toEqual({ inputTokens: 3, outputTokens: 30 });
  });
});

describe('the unit reservation handed to the token engine', () => {
  it.each([0, 1, 11_000, 333_333, 2_500_000])('reserves %i micro-USD, give or take one', (costMicros) => {
    for (const tokens of [0, 1, 7, 6_240, 32_000 + 62_400]) {
      const { model: priced, tokens: reserved } = reservationModel(model('gpt-image-1'), { promptTokens: tokens, completionTokens: 0, costMicros });
      const reservedMicros = maxCostMicros(reserved, 0, priced.price);
      expect(reservedMicros).toBeGreaterThanOrEqual(costMicros);
      expect(reservedMicros).toBeLessThanOrEqual(costMicros + 1);
      expect(dearestInputPerMTok(priced.price)).toBe(priced.price.inputPerMTok);
    }
  });
});
