import { describe, expect, it } from 'vitest';
import { imageSizeFromBase64, imageSizeFromDataUrl } from '../../src/tokens/image-size.js';
import { anthropicImageTokens, openaiImageProfile, openaiImageTokens } from '../../src/tokens/image-tokens.js';

describe('OpenAI image tokens (published tile and patch formulas)', () => {
  const gpt4o = openaiImageProfile('gpt-4o-2024-08-06');

  it.each([
    [1024, 1024, 765], // docs: scaled to 768x768, 4 tiles
    [2048, 4096, 1105], // docs: 1024x2048 then 768x1536, 6 tiles
    [512, 512, 255], // one tile, no scaling
    [100, 100, 255], // small images are not scaled up
  ])('charges a %ix%i high-detail image %i tokens on gpt-4o', (width, height, tokens) => {
    expect(openaiImageTokens(gpt4o, 'high', { width, height })).toBe(tokens);
  });

  it('charges only the base for low detail, whatever the size', () => {
    expect(openaiImageTokens(gpt4o, 'low', { width: 4096, height: 4096 })).toBe(85);
    expect(openaiImageTokens(gpt4o, 'low', undefined)).toBe(85);
  });

  it('uses the per-model tile prices: gpt-4o-mini charges 2833 + 5667 per tile', () => {
    expect(openaiImageTokens(openaiImageProfile('gpt-4o-mini'), 'high', { width: 1024, height: 1024 })).toBe(2833 + 4 * 5667);
  });

  it('charges the largest possible image (8 tiles) when the size is unknown', () => {
    expect(openaiImageTokens(gpt4o, 'auto', undefined)).toBe(85 + 8 * 170);
  });

  it('counts 32 px patches times the model multiplier on gpt-4.1-mini, scaling down past 1536 patches', () => {
    const mini = openaiImageProfile('gpt-4.1-mini');
    expect(openaiImageTokens(mini, 'high', { width: 1024, height: 1024 })).toBe(Math.ceil(1024 * 1.62));
    // docs example: 1800x2400 is scaled to 1056x1408, 33 x 44 = 1452 patches
    expect(openaiImageTokens(mini, 'high', { width: 1800, height: 2400 })).toBe(Math.ceil(1452 * 1.62));
    expect(openaiImageTokens(mini, 'high', undefined)).toBe(Math.ceil(1536 * 1.62));
  });

  it('picks the longest matching model prefix', () => {
    expect(openaiImageProfile('gpt-4o-mini-2024-07-18')).toEqual({ kind: 'tiles', baseTokens: 2833, tileTokens: 5667 });
    expect(openaiImageProfile('gpt-4.1-nano')).toEqual({ kind: 'patches', multiplierPermille: 2460 });
    expect(openaiImageProfile('some-local-model')).toEqual({ kind: 'tiles', baseTokens: 85, tileTokens: 170 });
  });
});

describe('Anthropic image tokens (pixels / 750)', () => {
  it.each([
    [200, 200, 54], // docs table: ~54
    [1000, 1000, 1334], // docs table: ~1334
    [1092, 1092, 1590], // docs table: ~1590
  ])('charges a %ix%i image %i tokens', (width, height, tokens) => {
    expect(anthropicImageTokens({ width, height })).toBe(tokens);
  });

  it('scales images with a long edge over 1568 px and caps at 1600', () => {
    expect(anthropicImageTokens({ width: 4000, height: 4000 })).toBe(1600);
    expect(anthropicImageTokens({ width: 3136, height: 200 })).toBe(Math.ceil((1568 * 100) / 750));
    expect(anthropicImageTokens(undefined)).toBe(1600);
  });
});

describe('image size from base64 headers', () => {
  const b64 = (bytes: number[] | Buffer) => Buffer.from(bytes).toString('base64');

  it('reads PNG, GIF, WebP (VP8X) and JPEG sizes', () => {
    const png = Buffer.alloc(24);
    png.writeUInt32BE(0x89504e47, 0);
    png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(640, 16);
    png.writeUInt32BE(480, 20);
    expect(imageSizeFromBase64(b64(png))).toEqual({ width: 640, height: 480 });

    const gif = Buffer.from('GIF89a\x20\x03\x58\x02', 'latin1');
    expect(imageSizeFromBase64(b64(gif))).toEqual({ width: 800, height: 600 });

    const webp = Buffer.alloc(30);
    webp.write('RIFF', 0, 'latin1');
    webp.write('WEBPVP8X', 8, 'latin1');
    webp.writeUIntLE(1919, 24, 3);
    webp.writeUIntLE(1079, 27, 3);
    expect(imageSizeFromBase64(b64(webp))).toEqual({ width: 1920, height: 1080 });

    // SOI, an APP0 segment to skip, then SOF0 with height 300 and width 400.
    const jpeg = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0x90, 0x03];
    expect(imageSizeFromBase64(b64(jpeg))).toEqual({ width: 400, height: 300 });
  });

  it('reads only base64 data URLs and gives up on anything else', () => {
    expect(imageSizeFromDataUrl('https://example.com/cat.png')).toBeUndefined();
    expect(imageSizeFromDataUrl('data:image/png,raw')).toBeUndefined();
    expect(imageSizeFromBase64(b64(Buffer.from('not an image at all')))).toBeUndefined();
  });
});
