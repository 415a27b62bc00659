// Money math for the media routes (images, transcriptions, speech, moderations) and realtime
// responses: what a request may cost at most before it runs, and what it cost from the provider's report. Pure and integer:
// micro-USD, catalog unit prices (src/config/catalog.ts: units) in micro-USD per unit or per 1M.
import { ceilDiv } from '../budget/int-math.js';
import type { CatalogModel } from '../config/catalog.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ImageTokens, SpeechTokens, TranscriptionReport } from '../providers/media.js';
import type { RealtimeUsage } from '../providers/realtime.js';

export interface MediaCharge {
  readonly promptTokens: number;
  // Of promptTokens, cache reads (realtime responses); absent means none.
  readonly cachedTokens?: number;
  readonly completionTokens: number;
  readonly costMicros: number;
}

// What settle knows: the charge, and whether it is the provider's count or Tollgate's bound.
export interface SettledCharge {
  readonly charge: MediaCharge;
  readonly estimated: boolean;
}

const perM = 1_000_000;
const msPerMinute = 60_000;
export const freeCharge: MediaCharge = Object.freeze({ promptTokens: 0, completionTokens: 0, costMicros: 0 });

// Sum of tokens x micro-USD per 1M tokens, rounded up once: parts never round to free.
const tokenCost = (...terms: ReadonlyArray<readonly [tokens: number, perMTokMicros: number]>): number =>
  ceilDiv(terms.reduce((sum, [tokens, price]) => sum + tokens * price, 0), perM);

// --- Images ---------------------------------------------------------------------------------

export interface ImageRequest {
  readonly n: number;
  readonly size: string | undefined;
  readonly quality: string | undefined;
  // UTF-8 bytes of the prompt: no tokenizer makes more tokens than bytes.
  readonly promptBytes: number;
  // Image files uploaded (edits, variations).
  readonly inputImages: number;
}

const billsImageTokens = (model: CatalogModel): boolean => model.units?.imageOutputPerMTok !== undefined;

// Per-image models (dall-e) default to 1024x1024 and standard quality, so an unnamed value is
// exactly that price. Token-billed models default to `auto`, which may pick any size or quality:
// the reservation takes the dearest.
function perImageMicros(model: CatalogModel, size: string | undefined, quality: string | undefined): number {
  const table = model.units?.perImage ?? {};
  const auto = billsImageTokens(model);
  const pick = (value: string | undefined, fallback: string) => (value === undefined ? (auto ? undefined : fallback) : value === 'auto' ? undefined : value);
  const wantSize = pick(size, '1024x1024');
  const wantQuality = pick(quality, 'standard');
  const prices = Object.entries(table).flatMap(([key, micros]) => {
    const [keySize, keyQuality] = key.split('/');
    const sizeOk = wantSize === undefined || keySize === wantSize;
    // A table without qualities (dall-e-2) prices every quality the same.
    const qualityOk = keyQuality === undefined || wantQuality === undefined || keyQuality === wantQuality;
    return sizeOk && qualityOk ? [micros] : [];
  });
  if (prices.length === 0) {
    const what = quality === undefined ? `size "${size ?? '1024x1024'}"` : `size "${size ?? '1024x1024'}" at quality "${quality}"`;
    throw new GatewayError('invalid_request', `The model "${model.name}" has no price for ${what}.`, 'size');
  }
  return Math.max(...prices);
}

export function imageReserve(model: CatalogModel, req: ImageRequest): MediaCharge {
  const perImage = perImageMicros(model, req.size, req.quality);
  if (!billsImageTokens(model)) return { promptTokens: 0, completionTokens: 0, costMicros: req.n * perImage };
  // Every input token, text or image, fits the context window; each is priced at the dearer rate.
  const inputTokens = Math.min(model.contextWindow, req.promptBytes + req.inputImages * model.contextWindow);
  const inputPrice = Math.max(model.price.inputPerMTok, model.units?.imageInputPerMTok ?? 0);
  return {
    promptTokens: inputTokens,
    completionTokens: req.n * model.maxOutputTokens,
    // The published per-image price covers the image's output tokens at its size and quality.
    costMicros: tokenCost([inputTokens, inputPrice]) + req.n * perImage,
  };
}

export function imageCharge(model: CatalogModel, req: ImageRequest, reported: ImageTokens | undefined): SettledCharge {
  if (!billsImageTokens(model)) return { charge: imageReserve(model, req), estimated: false };
  if (!reported) return { charge: imageReserve(model, req), estimated: true };
  const units = model.units!;
  // Input not broken down into text and image is all charged at the dearer image rate.
  const split = reported.imageInputTokens !== undefined;
  const imageIn = split ? Math.min(reported.imageInputTokens!, reported.inputTokens) : reported.inputTokens;
  const imageInPrice = split ? (units.imageInputPerMTok ?? model.price.inputPerMTok) : Math.max(units.imageInputPerMTok ?? 0, model.price.inputPerMTok);
  return {
    charge: {
      promptTokens: reported.inputTokens,
      completionTokens: reported.outputTokens,
      costMicros: tokenCost([reported.inputTokens - imageIn, model.price.inputPerMTok], [imageIn, imageInPrice], [reported.outputTokens, units.imageOutputPerMTok!]),
    },
    estimated: false,
  };
}

// --- Transcriptions and translations ----------------------------------------------------------

export interface TranscriptionRequest {
  // The longest the upload can play: exact from a WAV header, else from its size (audio-duration.ts).
  readonly maxDurationMs: number;
  readonly promptBytes: number;
}

const billsAudioTokens = (model: CatalogModel): boolean => model.units?.audioInputPerMTok !== undefined;
const minutesCost = (model: CatalogModel, durationMs: number): number => ceilDiv(durationMs * (model.units?.perMinute ?? 0), msPerMinute);

export function transcriptionReserve(model: CatalogModel, req: TranscriptionRequest): MediaCharge {
  if (!billsAudioTokens(model)) return { promptTokens: 0, completionTokens: 0, costMicros: minutesCost(model, req.maxDurationMs) };
  // Audio tokens at the provider's published per-minute rate for the longest the file can play,
  // the prompt, and the whole output cap.
  return {
    promptTokens: req.promptBytes,
    completionTokens: model.maxOutputTokens,
    costMicros: minutesCost(model, req.maxDurationMs) + tokenCost([req.promptBytes, model.price.inputPerMTok], [model.maxOutputTokens, model.price.outputPerMTok]),
  };
}

export function transcriptionCharge(model: CatalogModel, req: TranscriptionRequest, reported: TranscriptionReport | undefined): SettledCharge {
  if (!reported) return { charge: transcriptionReserve(model, req), estimated: true };
  if (reported.kind === 'duration') return { charge: { promptTokens: 0, completionTokens: 0, costMicros: minutesCost(model, reported.durationMs) }, estimated: false };
  const units = model.units ?? {};
  return {
    charge: {
      promptTokens: reported.audioTokens + reported.textTokens,
      completionTokens: reported.outputTokens,
      costMicros: tokenCost(
        [reported.audioTokens, units.audioInputPerMTok ?? model.price.inputPerMTok],
        [reported.textTokens, model.price.inputPerMTok],
        [reported.outputTokens, model.price.outputPerMTok],
      ),
    },
    estimated: false,
  };
}

// --- Speech -----------------------------------------------------------------------------------

export interface SpeechRequest {
  // Unicode code points of the input text.
  readonly characters: number;
  readonly inputBytes: number;
}

export function speechReserve(model: CatalogModel, req: SpeechRequest): MediaCharge {
  const perMCharacters = model.units?.perMCharacters;
  if (perMCharacters !== undefined) return { promptTokens: 0, completionTokens: 0, costMicros: ceilDiv(req.characters * perMCharacters, perM) };
  // Audio output tokens are bounded by the model's output cap.
  const audioOut = model.units?.audioOutputPerMTok ?? model.price.outputPerMTok;
  return { promptTokens: req.inputBytes, completionTokens: model.maxOutputTokens, costMicros: tokenCost([req.inputBytes, model.price.inputPerMTok], [model.maxOutputTokens, audioOut]) };
}

export function speechCharge(model: CatalogModel, req: SpeechRequest, reported: SpeechTokens | undefined): SettledCharge {
  if (model.units?.perMCharacters !== undefined) return { charge: speechReserve(model, req), estimated: false };
  if (!reported) return { charge: speechReserve(model, req), estimated: true };
  const audioOut = model.units?.audioOutputPerMTok ?? model.price.outputPerMTok;
  return {
    charge: { promptTokens: reported.inputTokens, completionTokens: reported.outputTokens, costMicros: tokenCost([reported.inputTokens, model.price.inputPerMTok], [reported.outputTokens, audioOut]) },
    estimated: false,
  };
}

// --- Realtime responses -----------------------------------------------------------------------

// What one response of a realtime session can cost at most: its whole context window read at the
// dearest input rate (text, audio or image) and the output cap at the dearer output rate. The
// session holds this while it waits for its next response.
export function realtimeReserve(model: CatalogModel): MediaCharge {
  const units = model.units ?? {};
  const inputPrice = Math.max(model.price.inputPerMTok, units.audioInputPerMTok ?? 0, units.imageInputPerMTok ?? 0);
  const outputPrice = Math.max(model.price.outputPerMTok, units.audioOutputPerMTok ?? 0);
  return {
    promptTokens: model.contextWindow,
    completionTokens: model.maxOutputTokens,
    costMicros: tokenCost([model.contextWindow, inputPrice], [model.maxOutputTokens, outputPrice]),
  };
}

// A response's cost from its `response.done` usage: text at the token prices, audio and image at
// the catalog's unit prices, cached reads at their cached prices, and tokens the breakdown does not
// place at the dearest rate of their direction.
export function realtimeCharge(model: CatalogModel, usage: RealtimeUsage): MediaCharge {
  const { price } = model;
  const units = model.units ?? {};
  const audioIn = units.audioInputPerMTok ?? price.inputPerMTok;
  const imageIn = units.imageInputPerMTok ?? price.inputPerMTok;
  const audioOut = units.audioOutputPerMTok ?? price.outputPerMTok;
  const { input, cached, output } = usage;
  return {
    promptTokens: usage.inputTokens,
    cachedTokens: cached.text + cached.audio + cached.image,
    completionTokens: usage.outputTokens,
    costMicros: tokenCost(
      [input.text - cached.text, price.inputPerMTok],
      [cached.text, price.cachedInputPerMTok],
      [input.audio - cached.audio, audioIn],
      [cached.audio, units.audioCachedInputPerMTok ?? audioIn],
      [input.image - cached.image, imageIn],
      [cached.image, units.imageCachedInputPerMTok ?? imageIn],
      [input.other, Math.max(price.inputPerMTok, audioIn, imageIn)],
      [output.text, price.outputPerMTok],
      [output.audio, audioOut],
      [output.other, Math.max(price.outputPerMTok, audioOut)],
    ),
  };
}
