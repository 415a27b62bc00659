// Reads an image's pixel size from the first bytes of its base64 data (PNG, GIF, WebP, JPEG), so the
// image formulas can use the real size instead of the worst case. Never decodes the whole image.

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

// JPEG puts its size in the SOF segment, after EXIF and ICC segments that can reach 64 KB.
const headerBase64Chars = 96 * 1024;

export function imageSizeFromDataUrl(url: string): ImageSize | undefined {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0 || !url.slice(0, comma).endsWith(';base64')) return undefined;
  return imageSizeFromBase64(url.slice(comma + 1, comma + 1 + headerBase64Chars));
}

export function imageSizeFromBase64(data: string): ImageSize | undefined {
  const bytes = Buffer.from(data.slice(0, headerBase64Chars), 'base64');
  return pngSize(bytes) ?? gifSize(bytes) ?? webpSize(bytes) ?? jpegSize(bytes);
}

const sized = (width: number, height: number): ImageSize | undefined =>
  width > 0 && height > 0 ? { width, height } : undefined;

function pngSize(b: Buffer): ImageSize | undefined {
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return sized(b.readUInt32BE(16), b.readUInt32BE(20));
}

function gifSize(b: Buffer): ImageSize | undefined {
  if (b.length < 10 || b.toString('latin1', 0, 4) !== 'GIF8') return undefined;
  return sized(b.readUInt16LE(6), b.readUInt16LE(8));
}

function webpSize(b: Buffer): ImageSize | undefined {
  if (b.length < 30 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') return undefined;
  switch (b.toString('latin1', 12, 16)) {
    case 'VP8 ':
      return sized(b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
    case 'VP8L': {
      const bits = b.readUInt32LE(21);
      return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    case 'VP8X':
      return sized(b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1);
    default:
      return undefined;
  }
}

function jpegSize(b: Buffer): ImageSize | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 9 <= b.length) {
    if (b[offset] !== 0xff) return undefined;
    const marker = b[offset + 1]!;
    // SOF0–SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return sized(b.readUInt16BE(offset + 7), b.readUInt16BE(offset + 5));
    }
    offset += 2 + b.readUInt16BE(offset + 2);
  }
  return undefined;
}
