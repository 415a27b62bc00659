// Two places where gpt-tokenizer 4 disagrees with tiktoken (the provider's tokenizer), fixed on
// each encoder as it loads. Both touch private internals, so both fail loudly if those change,
// and tokenizer-parity.test.ts covers the characters involved. Drop this file once upstream
// fixes them.
//
// 1. The split patterns use JavaScript's \s, which includes U+FEFF and leaves out U+0085;
//    tiktoken's Rust regexes use Unicode White_Space, the other way round, so text holding a
//    byte-order mark or a NEL splits differently. The patterns are rebuilt with White_Space
//    spelled out.
// 2. Byte pairs are looked up by decoding them with a TextDecoder that strips a leading BOM, so
//    no token starting with U+FEFF is ever found (the rank table holds those under their bytes,
//    where the lookup never goes once decoding "succeeded"). Those lookups go to the bytes.

const whiteSpace = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;

export function withUnicodeWhiteSpace(pattern: RegExp): RegExp {
  const source = pattern.source
    .replaceAll(String.raw`[^\s`, `[^${whiteSpace}`)
    .replaceAll(String.raw`\S`, `[^${whiteSpace}]`)
    .replaceAll(String.raw`\s`, `[${whiteSpace}]`);
  return new RegExp(source, pattern.flags);
}

interface BytePairCore {
  tokenSplitRegex: RegExp;
  getBpeRankFromBytes(key: Uint8Array): number | undefined;
  binarySearch(key: Uint8Array): number;
  bytePairNonUtfSortedEncoder: ReadonlyArray<readonly [Uint8Array, number]>;
}
const startsWithBom = (key: Uint8Array): boolean => key[0] === 0xef && key[1] === 0xbb && key[2] === 0xbf;

function coreOf(encoder: { default: unknown }): BytePairCore {
  const core = (encoder.default as { bytePairEncodingCoreProcessor?: Partial<BytePairCore> }).bytePairEncodingCoreProcessor;
  if (
    !(core?.tokenSplitRegex instanceof RegExp) ||
    typeof core.getBpeRankFromBytes !== 'function' ||
    typeof core.binarySearch !== 'function' ||
    !Array.isArray(core.bytePairNonUtfSortedEncoder)
  ) {
    throw new Error('gpt-tokenizer internals changed: src/tokens/tiktoken-compat.ts can no longer align it with tiktoken');
  }
  return core as BytePairCore;
}

export function alignWithTiktoken(encoder: { default: unknown }): void {
  const core = coreOf(encoder);
  core.tokenSplitRegex = withUnicodeWhiteSpace(core.tokenSplitRegex);
  const rankFromBytes = core.getBpeRankFromBytes.bind(core);
  core.getBpeRankFromBytes = (key) => {
    if (!startsWithBom(key)) return rankFromBytes(key);
    const index = core.binarySearch(key);
    return index === -1 ? undefined : core.bytePairNonUtfSortedEncoder[index]![1];
  };
}
