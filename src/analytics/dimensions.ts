// The words of a usage query: what rows are grouped by (org, team, user, key, provider, model,
// tag:NAME and one time bucket) and what they are filtered on. Pure parsing, shared by the admin
// route, the key holder's history and reports, so every entry point accepts the same language.
export const columnDimensions = ['org', 'team', 'user', 'key', 'provider', 'model'] as const;
export type ColumnDimension = (typeof columnDimensions)[number];
export type TagDimension = `tag:${string}`;
export type Dimension = ColumnDimension | TagDimension;

export const timeBuckets = ['hour', 'day', 'week', 'month'] as const;
export type TimeBucket = (typeof timeBuckets)[number];

export interface Grouping {
  readonly dimensions: readonly Dimension[];
  readonly bucket: TimeBucket | null;
}

export interface TagFilter {
  readonly name: string;
  readonly value: string;
}

// Each list matches any of its values; lists combine with AND. A team matches its sub-teams too,
// as a team's budget counts them.
export type Filters = Partial<Record<ColumnDimension, readonly string[]>> & { readonly tags?: readonly TagFilter[] };

// Tag names are the keys of x-tollgate-tags; anything else in a query is refused, not guessed at.
const tagName = /^[A-Za-z0-9_.-]{1,64}$/;

export const isTagDimension = (d: Dimension): d is TagDimension => d.startsWith('tag:');

// `team,model,day` → { dimensions: [team, model], bucket: day }. Returns an error message instead
// of throwing so callers report it in their own shape (zod issue, CLI usage error).
export function parseGrouping(text: string): Grouping | string {
  const words = text.split(',').map((w) => w.trim()).filter(Boolean);
  const dimensions: Dimension[] = [];
  let bucket: TimeBucket | null = null;
  for (const word of words) {
    if ((timeBuckets as readonly string[]).includes(word)) {
      if (bucket) return `only one time bucket may be given (${bucket} and ${word})`;
      bucket = word as TimeBucket;
    } else if ((columnDimensions as readonly string[]).includes(word) || (word.startsWith('tag:') && tagName.test(word.slice(4)))) {
      if (dimensions.includes(word as Dimension)) return `${word} is given twice`;
      dimensions.push(word as Dimension);
    } else {
      return `${word} is not one of ${[...columnDimensions, 'tag:NAME', ...timeBuckets].join(', ')}`;
    }
  }
  return { dimensions, bucket };
}

// `project:apollo,env:prod` → two tag filters.
export function parseTagFilters(text: string): TagFilter[] | string {
  const filters: TagFilter[] = [];
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf(':');
    const name = pair.slice(0, at);
    if (at <= 0 || !tagName.test(name)) return `${pair} is not NAME:VALUE`;
    filters.push({ name, value: pair.slice(at + 1) });
  }
  return filters;
}

export const splitList = (text: string): string[] => text.split(',').map((v) => v.trim()).filter(Boolean);
