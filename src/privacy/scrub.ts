// Rewrites one value (a text column, or a json column's strings and object keys) so it no longer
// names a person: their ids become their pseudonyms, their email and key labels become [erased],
// and their handle, where it stands as a word, becomes the tombstone's name. Pure: erase.ts
// decides which rows to feed it.
export interface ScrubberInput {
  ids: ReadonlyMap<string, string>;
  email: string | null;
  handle: string;
  handleReplacement: string;
  // Key names and metadata values: replaced when a whole string equals one.
  labels: readonly string[];
}

export interface Scrubber {
  readonly handleReplacement: string;
  value(value: unknown): unknown;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export const erasedMark = '[erased]';

export function createScrubber(input: ScrubberInput): Scrubber {
  const email = input.email ? new RegExp(escapeRegExp(input.email), 'gi') : null;
  // Not inside a longer word: "al" must not turn "total" into something else.
  const handle = new RegExp(`(?<![\\p{L}\\p{N}_-])${escapeRegExp(input.handle)}(?![\\p{L}\\p{N}_-])`, 'giu');
  const labels = new Set(input.labels);
  const text = (s: string): string => {
    if (labels.has(s)) return erasedMark;
    let out = s;
    for (const [from, to] of input.ids) out = out.split(from).join(to);
    if (email) out = out.replace(email, erasedMark);
    return out.replace(handle, input.handleReplacement);
  };
  const value = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(value);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), value(x)]));
    return v;
  };
  return { handleReplacement: input.handleReplacement, value };
}
