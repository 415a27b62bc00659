// The rows of one grain of a signed-span plan (src/analytics/query-plan.ts) as SQL: each span read
// once (`read` gets its bounds, an index range), and each of its rows repeated for every bucket
// the span counts toward with that bucket (`bucket_ms`) and its sign (`sign`, 1 or -1) beside
// the row's own columns. Callers multiply their measures by the sign when they sum.
import { sql, type SQL } from 'drizzle-orm';
import type { GrainPart } from './query-plan.js';

export const instant = (ms: SQL) => sql`timestamptz 'epoch' + ${ms} * interval '1 millisecond'`;

// A Postgres array literal: one parameter however many spans a plan has.
const array = (values: ReadonlyArray<number | null>, type: 'bigint' | 'int') => sql`${`{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`}::${sql.raw(type)}[]`;

export function signedRows(part: GrainPart, read: (fromTime: SQL, toTime: SQL) => SQL): SQL {
  const c = part.contributions;
  return sql`select c.b as bucket_ms, c.s as sign, r.*
    from unnest(${array(part.startsMs, 'bigint')}, ${array(part.endsMs, 'bigint')}) with ordinality s(f, t, i)
    cross join lateral (${read(instant(sql`s.f`), instant(sql`s.t`))}) r
    join unnest(${array(c.map((x) => x.index), 'int')}, ${array(c.map((x) => x.sign), 'int')}, ${array(c.map((x) => x.bucketMs), 'bigint')}) c(i, s, b) on c.i = s.i`;
}
