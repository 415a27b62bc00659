// The longest an uploaded audio file can play, for reserving a per-minute transcription before the
// provider has said how long it was. A PCM WAV file says so in its header (data bytes / byte rate);
// any other format is bounded by its size at the lowest bitrate speech is commonly encoded at, so
// the reservation can only be high, and settle charges the duration the provider reports.

// 16 kbit/s (low-bitrate Opus or AMR speech) is 120,000 bytes a minute.
const floorBytesPerSecond = 2_000;
// Past these the header is not believed (and the size bound is used): 384 kHz, 8 channels, 32 bits.
const maxByteRate = 384_000 * 8 * 4;

export function maxAudioDurationMs(fileBytes: number, head: Buffer): number {
  const wav = wavByteRate(head);
  const byteRate = wav ?? floorBytesPerSecond;
  // Ceiling: a partial millisecond still plays.
  return Math.ceil((fileBytes * 1000) / byteRate);
}

// The byte rate of a canonical RIFF/WAVE header whose fields agree with each other, or undefined.
function wavByteRate(head: Buffer): number | undefined {
  if (head.length < 36 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 16) !== 'WAVEfmt ') return undefined;
  const channels = head.readUInt16LE(22);
  const sampleRate = head.readUInt32LE(24);
  const byteRate = head.readUInt32LE(28);
  const blockAlign = head.readUInt16LE(32);
  const bitsPerSample = head.readUInt16LE(34);
  const consistent = channels > 0 && bitsPerSample > 0 && blockAlign === (channels * bitsPerSample) / 8 && byteRate === sampleRate * blockAlign;
  return consistent && byteRate > 0 && byteRate <= maxByteRate ? byteRate : undefined;
}
