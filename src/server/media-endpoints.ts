// The media routes as data: for each, how its body arrives (JSON or a multipart upload and its
// limits), which catalog model kinds it serves, the fields pricing reads (validated here, the
// rest left to the provider), and how the request is priced before and after (media-price.ts).
import { z } from 'zod';
import type { CatalogModel } from '../config/catalog.js';
import { GatewayError } from '../errors/catalogue.js';
import { maxAudioDurationMs } from '../metering/audio-duration.js';
import { freeCharge, imageCharge, imageReserve, type MediaCharge, type SettledCharge, speechCharge, speechReserve, transcriptionCharge, transcriptionReserve } from '../metering/media-price.js';
import type { MediaEndpoint, MediaProvider } from '../providers/media.js';
import type { ModelKind } from '../pricing/price-schema.js';
import type { FilePart } from './multipart-fields.js';

// A request's body as pricing sees it: JSON members, or a multipart upload's text fields (all
// strings) and its file parts.
export interface MediaInput {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly files: readonly FilePart[];
}

export interface MediaPricing {
  readonly reserve: MediaCharge;
  // From the provider's answer (whole body or the stream event that carried a report), or
  // undefined when there was none to read.
  settle(answer: unknown, provider: MediaProvider): SettledCharge;
}

export interface MediaEndpointSpec {
  readonly upload: { readonly maxBytes: number; readonly maxParts: number } | undefined;
  readonly kinds: ReadonlySet<ModelKind>;
  // What the provider uses when the body names no model (OpenAI's documented defaults).
  readonly defaultModel: string | undefined;
  // Multipart text fields read for routing and pricing.
  readonly fields: ReadonlySet<string>;
  price(model: CatalogModel, input: MediaInput): MediaPricing;
}

// OpenAI's own upload limits (25 MB of audio; gpt-image-1 edit images up to 50 MB), plus room for
// the multipart framing and fields: larger bodies would be refused upstream anyway.
const audioUpload = { maxBytes: 26 * 1024 * 1024, maxParts: 40 };
const imageUpload = { maxBytes: 52 * 1024 * 1024, maxParts: 40 };

const text = z.string().max(64).nullish();
const imageFields = z.looseObject({
  // Multipart fields are strings: n arrives as "2".
  n: z.coerce.number().int().min(1).max(10).nullish(),
  size: text,
  quality: text,
  prompt: z.string().nullish(),
});
const transcriptionFields = z.looseObject({ prompt: z.string().nullish() });
const speechFields = z.looseObject({ input: z.string({ error: 'input must be a string' }) });

function parse<T extends z.ZodType>(schema: T, fields: Readonly<Record<string, unknown>>): z.output<T> {
  const parsed = schema.safeParse(fields);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.join('.') || null;
  throw new GatewayError('invalid_request', param ? `${param}: ${issue.message}` : issue.message, param);
}

const bytes = (value: string | null | undefined): number => Buffer.byteLength(value ?? '');

function imagePricing(model: CatalogModel, input: MediaInput, imageFilesField: (field: string) => boolean): MediaPricing {
  const f = parse(imageFields, input.fields);
  const request = {
    n: f.n ?? 1,
    size: f.size ?? undefined,
    quality: f.quality ?? undefined,
    promptBytes: bytes(f.prompt),
    inputImages: input.files.filter((file) => imageFilesField(file.field)).length,
  };
  return { reserve: imageReserve(model, request), settle: (answer, provider) => imageCharge(model, request, provider.imageTokens(answer)) };
}

function transcriptionPricing(model: CatalogModel, input: MediaInput): MediaPricing {
  const f = parse(transcriptionFields, input.fields);
  const file = input.files.find((part) => part.field === 'file');
  if (!file) throw new GatewayError('invalid_request', 'file: an audio file part is required', 'file');
  const request = { maxDurationMs: maxAudioDurationMs(file.bytes, file.head), promptBytes: bytes(f.prompt) };
  return { reserve: transcriptionReserve(model, request), settle: (answer, provider) => transcriptionCharge(model, request, provider.transcriptionReport(answer)) };
}

function speechPricing(model: CatalogModel, input: MediaInput): MediaPricing {
  const f = parse(speechFields, input.fields);
  const request = { characters: [...f.input].length, inputBytes: bytes(f.input) };
  return { reserve: speechReserve(model, request), settle: (answer, provider) => speechCharge(model, request, provider.speechTokens(answer)) };
}

const kinds = (...k: ModelKind[]): ReadonlySet<ModelKind> => new Set(k);
const imageFieldNames = new Set(['model', 'n', 'size', 'quality', 'prompt']);
// Edits send one `image` or several (gpt-image-1, up to 16, named `image` or `image[]` by
// different clients); only the `mask` is not an input image.
const isEditImage = (field: string) => field !== 'mask';

export const mediaEndpoints: Readonly<Record<MediaEndpoint, MediaEndpointSpec>> = {
  moderations: {
    upload: undefined,
    kinds: kinds('moderation'),
    defaultModel: 'omni-moderation-latest',
    fields: new Set(),
    // Free, but counted: the request still takes a slot of every request-rate limit.
    price: () => ({ reserve: freeCharge, settle: () => ({ charge: freeCharge, estimated: false }) }),
  },
  image_generations: {
    upload: undefined,
    kinds: kinds('image'),
    defaultModel: 'dall-e-2',
    fields: imageFieldNames,
    price: (model, input) => imagePricing(model, input, () => false),
  },
  image_edits: {
    upload: imageUpload,
    kinds: kinds('image'),
    defaultModel: 'dall-e-2',
    fields: imageFieldNames,
    price: (model, input) => imagePricing(model, input, isEditImage),
  },
  image_variations: {
    upload: imageUpload,
    kinds: kinds('image'),
    defaultModel: 'dall-e-2',
    fields: imageFieldNames,
    price: (model, input) => imagePricing(model, input, () => false),
  },
  transcriptions: {
    upload: audioUpload,
    kinds: kinds('transcription'),
    defaultModel: undefined,
    fields: new Set(['model', 'prompt']),
    price: transcriptionPricing,
  },
  translations: {
    upload: audioUpload,
    kinds: kinds('transcription'),
    defaultModel: undefined,
    fields: new Set(['model', 'prompt']),
    price: transcriptionPricing,
  },
  speech: {
    upload: undefined,
    kinds: kinds('speech'),
    defaultModel: undefined,
    fields: new Set(),
    price: speechPricing,
  },
};
