// Prompt tokens of an image by the providers' published formulas. Pure functions of the model's
// image profile, the request's `detail` and the pixel size; an unknown size costs the most the
// formula allows, so a reservation can only overshoot (settle corrects it with the real usage).
import type { ImageSize } from './image-size.js';

export type ImageDetail = 'low' | 'high' | 'auto';

// OpenAI prices images either in 512 px tiles (base + per tile) or in 32 px patches times a
// model multiplier, depending on the model family (platform.openai.com/docs/guides/images-vision).
export type OpenAIImageProfile =
  | { readonly kind: 'tiles'; readonly baseTokens: number; readonly tileTokens: number }
  | { readonly kind: 'patches'; readonly multiplierPermille: number };

const tiles = (baseTokens: number, tileTokens: number): OpenAIImageProfile => ({ kind: 'tiles', baseTokens, tileTokens });
const patches = (multiplierPermille: number): OpenAIImageProfile => ({ kind: 'patches', multiplierPermille });

// Keyed by model-name prefix; the longest matching prefix wins (gpt-4o-mini before gpt-4o).
const profilesByPrefix: ReadonlyArray<readonly [string, OpenAIImageProfile]> = (
  [
    ['gpt-4o-mini', tiles(2833, 5667)],
    ['gpt-4o', tiles(85, 170)],
    ['chatgpt-4o', tiles(85, 170)],
    ['gpt-4.1-mini', patches(1620)],
    ['gpt-4.1-nano', patches(2460)],
    ['gpt-4.1', tiles(85, 170)],
    ['gpt-4.5', tiles(85, 170)],
    ['gpt-4-turbo', tiles(85, 170)],
    ['gpt-5-mini', patches(1620)],
    ['gpt-5-nano', patches(2460)],
    ['gpt-5', tiles(70, 140)],
    ['o4-mini', patches(1720)],
    ['o1', tiles(75, 150)],
    ['o3', tiles(75, 150)],
    ['computer-use-preview', tiles(65, 129)],
  ] as const
).toSorted((a, b) => b[0].length - a[0].length);

const defaultProfile = tiles(85, 170);

export function openaiImageProfile(modelName: string): OpenAIImageProfile {
  return profilesByPrefix.find(([prefix]) => modelName.startsWith(prefix))?.[1] ?? defaultProfile;
}

const tilePx = 512;
const maxEdgePx = 2048;
const shortEdgePx = 768;
// The largest image after the tile scaling steps is 768 x 2048: 2 x 4 tiles.
const maxTiles = 8;

export function openaiImageTokens(profile: OpenAIImageProfile, detail: ImageDetail, size: ImageSize | undefined): number {
  if (profile.kind === 'patches') {
    return Math.ceil((imagePatches(size) * profile.multiplierPermille) / 1000);
  }
  if (detail === 'low') return profile.baseTokens;
  // 'auto' lets the provider pick; it picks high for anything bigger than a thumbnail, so charge that.
  return profile.baseTokens + profile.tileTokens * (size ? imageTiles(size) : maxTiles);
}

function imageTiles({ width, height }: ImageSize): number {
  let w = width;
  let h = height;
  const fit = Math.min(1, maxEdgePx / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shrink = Math.min(1, shortEdgePx / Math.min(w, h));
  w = Math.floor(w * shrink);
  h = Math.floor(h * shrink);
  return Math.ceil(w / tilePx) * Math.ceil(h / tilePx);
}

const patchPx = 32;
const maxPatches = 1536;

function imagePatches(size: ImageSize | undefined): number {
  if (!size) return maxPatches;
  const { width, height } = size;
  const raw = Math.ceil(width / patchPx) * Math.ceil(height / patchPx);
  if (raw <= maxPatches) return raw;
  // Scale down until the image fits the patch budget, then snap to whole patches on the tighter side.
  let r = Math.sqrt((patchPx * patchPx * maxPatches) / (width * height));
  r *= Math.min(Math.floor((width * r) / patchPx) / ((width * r) / patchPx), Math.floor((height * r) / patchPx) / ((height * r) / patchPx));
  return Math.min(maxPatches, Math.ceil((width * r) / patchPx) * Math.ceil((height * r) / patchPx));
}

// Anthropic: about width x height / 750 tokens, after scaling the long edge to at most 1568 px,
// and never more than about 1,600 (docs.anthropic.com, "Vision": image costs).
const anthropicMaxEdgePx = 1568;
const anthropicPxPerToken = 750;
export const anthropicMaxImageTokens = 1600;

export function anthropicImageTokens(size: ImageSize | undefined): number {
  if (!size) return anthropicMaxImageTokens;
  const fit = Math.min(1, anthropicMaxEdgePx / Math.max(size.width, size.height));
  const pixels = Math.floor(size.width * fit) * Math.floor(size.height * fit);
  return Math.min(anthropicMaxImageTokens, Math.ceil(pixels / anthropicPxPerToken));
}
