// Byte-pair merging in O(n log n) for long pre-tokens. gpt-tokenizer (like tiktoken) rescans every
// pair after each merge, which is quadratic in the length of one pre-token: a prompt of a million
// letters without a space is one pre-token and would pin a thread for many minutes. This is the
// same algorithm (always merge the lowest-ranked adjacent pair, the leftmost on a tie) with the
// pairs kept in a heap, so its tokens are the same; short pieces keep gpt-tokenizer's own merge,
// which is faster when there is little to scan.
import { TextEncoder } from 'node:util';

// Shorter pieces (nearly all real text) keep gpt-tokenizer's merge and cache as they are: its
// quadratic scan costs microseconds at this length, and parity with tiktoken stays as tested.
const linearFromBytes = 256;

// A heap entry is rank * 2^32 + start, so the smallest number is the lowest rank, leftmost first.
// Ranks stay below 2^21 (o200k_base has about 200k), which keeps entries exact in a double.
const positionSpan = 2 ** 32;
const maxRanks = 2 ** 21;

interface MergeCore {
  // Index = rank; a string for tokens that are valid UTF-8, their bytes otherwise.
  bytePairRankDecoder: ReadonlyArray<string | readonly number[] | undefined>;
  bytePairMerge(piece: Uint8Array): number[];
  bytePairEncode(input: string): number[];
}

// Rank lookup by bytes, in plain JavaScript. gpt-tokenizer looks a pair up by validating and
// decoding it to a string (a native call per pair), which costs more than the merge itself when
// a piece needs a million lookups. Built on the first long piece, from the same rank table.
interface ByteRanks {
  rankOf(piece: Uint8Array, from: number, to: number): number;
}

// Writes the UTF-8 bytes of a string; tokens stored as strings are valid UTF-8 (no lone surrogates).
function writeUtf8(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.codePointAt(i)!;
    if (c > 0xffff) i += 1;
    if (c < 0x80) out[at++] = c;
    else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 63);
      out[at++] = 0x80 | (c & 63);
    } else {
      out[at++] = 0xf0 | (c >> 18);
      out[at++] = 0x80 | ((c >> 12) & 63);
      out[at++] = 0x80 | ((c >> 6) & 63);
      out[at++] = 0x80 | (c & 63);
    }
  }
  return at;
}

function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function createByteRanks(decoder: MergeCore['bytePairRankDecoder']): ByteRanks {
  if (decoder.length >= maxRanks) throw new Error(`linear-merge.ts packs ranks below ${maxRanks} into heap entries; this encoding has ${decoder.length}`);
  // Four bytes per UTF-16 unit is more than any token needs.
  let capacity = 0;
  for (const token of decoder) capacity += token === undefined ? 0 : typeof token === 'string' ? token.length * 4 : token.length;
  const bytes = new Uint8Array(capacity);
  const starts = new Int32Array(decoder.length + 1);
  let at = 0;
  for (let rank = 0; rank < decoder.length; rank++) {
    starts[rank] = at;
    const token = decoder[rank];
    if (typeof token === 'string') at = writeUtf8(token, bytes, at);
    else if (token !== undefined) for (const byte of token) bytes[at++] = byte;
  }
  starts[decoder.length] = at;
  // Open addressing at under 40% load; a slot holds rank + 1, 0 is empty.
  const mask = 2 ** Math.ceil(Math.log2(decoder.length * 2.5)) - 1;
  const slots = new Int32Array(mask + 1);
  for (let rank = 0; rank < decoder.length; rank++) {
    if (starts[rank + 1] === starts[rank]) continue;
    let slot = fnv1a(bytes, starts[rank]!, starts[rank + 1]!) & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = rank + 1;
  }
  return {
    rankOf(piece, from, to) {
      const length = to - from;
      for (let slot = fnv1a(piece, from, to) & mask; slots[slot] !== 0; slot = (slot + 1) & mask) {
        const rank = slots[slot]! - 1;
        const start = starts[rank]!;
        if (starts[rank + 1]! - start !== length) continue;
        let i = 0;
        while (i < length && bytes[start + i] === piece[from + i]) i++;
        if (i === length) return rank;
      }
      return -1;
    },
  };
}


function mergeLinear(ranks: ByteRanks, piece: Uint8Array): number[] {
  const n = piece.length;
  // Parts form a linked list by start offset; a part runs from its start to next[start].
  const next = new Int32Array(n + 1);
  const prev = new Int32Array(n + 1);
  // Rank of the pair starting at each part; -1 when it has none, -2 once the part is merged away.
  const rank = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  // A binary heap in a typed array (doubles stay unboxed), grown by doubling when stale entries pile up.
  let heap = new Float64Array(n + 1);
  let size = 0;
  const push = (entry: number) => {
    if (size === heap.length) {
      const grown = new Float64Array(heap.length * 2);
      grown.set(heap);
      heap = grown;
    }
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= entry) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && heap[right]! < heap[left]! ? right : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  };
  // Rank of the pair starting at `start` (that part and the one after it), queued when mergeable.
  const rankPair = (start: number) => {
    const second = next[start]!;
    const found = second < n ? ranks.rankOf(piece, start, next[second]!) : -1;
    rank[start] = found;
    if (found !== -1) push(found * positionSpan + start);
  };

  for (let i = 0; i < n - 1; i++) rankPair(i);
  while (size > 0) {
    const entry = pop();
    const start = entry % positionSpan;
    // Entries go stale when their part was merged away or its pair changed; a pair's rank names
    // its bytes, so an entry whose rank still matches is the pair it was queued for.
    if (rank[start] !== (entry - start) / positionSpan) continue;
    const gone = next[start]!;
    rank[gone] = -2;
    next[start] = next[gone]!;
    prev[next[gone]!] = start;
    rankPair(start);
    if (start > 0) rankPair(prev[start]!);
  }

  const tokens: number[] = [];
  // Every part is a single byte or a merged pair, and both are in the table.
  for (let start = 0; start < n; start = next[start]!) tokens.push(ranks.rankOf(piece, start, next[start]!));
  return tokens;
}

function coreOf(encoder: { default: unknown }): MergeCore {
  const core = (encoder.default as { bytePairEncodingCoreProcessor?: Partial<MergeCore> }).bytePairEncodingCoreProcessor;
  if (!core || !Array.isArray(core.bytePairRankDecoder) || typeof core.bytePairMerge !== 'function' || typeof core.bytePairEncode !== 'function') {
    throw new Error('gpt-tokenizer internals changed: src/tokens/linear-merge.ts can no longer bound its merge time');
  }
  return core as MergeCore;
}

// Installs the linear merge on an encoder as it loads. Long inputs also skip gpt-tokenizer's merge
// cache: its keys are slices that keep a whole prompt alive, a hundred thousand of them at most.
export function withLinearMerge(encoder: { default: unknown }): void {
  const core = coreOf(encoder);
  const quadraticMerge = core.bytePairMerge.bind(core);
  const cachedEncode = core.bytePairEncode.bind(core);
  const utf8 = new TextEncoder();
  let ranks: ByteRanks | undefined;
  const merge = (piece: Uint8Array) => mergeLinear((ranks ??= createByteRanks(core.bytePairRankDecoder)), piece);
  core.bytePairMerge = (piece) => (piece.length < linearFromBytes ? quadraticMerge(piece) : merge(piece));
  core.bytePairEncode = (input) => (input.length < linearFromBytes ? cachedEncode(input) : merge(utf8.encode(input)));
}
