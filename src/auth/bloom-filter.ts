// A Bloom filter of API key hashes: "certainly not a key" without asking Postgres, so a flood of
// made-up keys costs no queries. The members are SHA-256 digests, already uniform, so the bit
// positions come straight from two 32-bit slices of the digest (double hashing) instead of hashing
// again; the first 16 hex digits are all it reads. Members cannot be removed; a revoked key staying in is harmless (Postgres still answers).
export interface BloomFilter {
  add(hashHex: string): void;
  mightContain(hashHex: string): boolean;
  // Members added so far (with repeats); past capacity the false positive rate climbs.
  readonly added: number;
  readonly capacity: number;
  readonly bytes: number;
}

export function createBloomFilter(capacity: number, falsePositiveRate: number): BloomFilter {
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be a positive integer, got ${capacity}`);
  if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) throw new Error(`falsePositiveRate must be in (0, 1), got ${falsePositiveRate}`);
  const bitCount = Math.ceil((-capacity * Math.log(falsePositiveRate)) / Math.LN2 ** 2);
  const probes = Math.max(1, Math.round((bitCount / capacity) * Math.LN2));
  const bits = new Uint8Array(Math.ceil(bitCount / 8));
  let added = 0;

  // Where the probes of a member start and how far apart they are.
  function start(hashHex: string): [number, number] {
    const first = Number.parseInt(hashHex.slice(0, 8), 16);
    const step = Number.parseInt(hashHex.slice(8, 16), 16);
    if (Number.isNaN(first) || Number.isNaN(step) || hashHex.length < 16) throw new Error('a Bloom filter member must be a hex digest (16 digits or more)');
    return [first % bitCount, (step % bitCount) | 1];
  }

  return {
    add(hashHex) {
      const [first, stride] = start(hashHex);
      for (let i = 0, bit = first; i < probes; i++, bit = (bit + stride) % bitCount) bits[bit >>> 3]! |= 1 << (bit & 7);
      added++;
    },
    mightContain(hashHex) {
      const [first, stride] = start(hashHex);
      for (let i = 0, bit = first; i < probes; i++, bit = (bit + stride) % bitCount) if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      return true;
    },
    get added() {
      return added;
    },
    capacity,
    bytes: bits.byteLength,
  };
}
