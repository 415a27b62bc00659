// The rows of one grain of a signed-span plan (src/analytics/query-plan.ts) as SQL: each span read
// once (`read` gets its bounds, an index range), and each of its rows repeated for every bucket
// the span counts toward with that bucket (`bucket_ms`), its sign (`sign`, 1 or -1) and the
// span's number (`span_index`) before the row's own columns. Callers multiply their measures by
// the sign when they sum.
import { sql, type SQL } from 'drizzle-orm';
import type { GrainPart } from './query-plan.js';

export const instant = (ms: SQL) => sql`timestamptz 'epoch' + ${ms} * interval '1 millisecond'`;

// A Postgres array literal: one parameter however many spans a plan has.
const array = (values: ReadonlyArray<number | null>, type: 'bigint' | 'int') => sql`${`{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`}::${sql.raw(type)}[]`;

export function signedRows(part: GrainPart, read: (fromTime: SQL, toTime: SQL) => SQL): SQL {
  const c = part.contributions;
  // `offset 0` keeps the spans' reads a subquery of their own: flattened, Postgres joined the
  // contributions first and read a span once per bucket it counts toward.
  return sql`select c.b as bucket_ms, c.s as sign, r.*
    from (select s.i as span_index, r.* from unnest(${array(part.startsMs, 'bigint')}, ${array(part.endsMs, 'bigint')}) with ordinality s(f, t, i)
      cross join lateral (${read(instant(sql`s.f`), instant(sql`s.t`))}) r offset 0) r
    join unnest(${array(c.map((x) => x.index), 'int')}, ${array(c.map((x) => x.sign), 'int')}, ${array(c.map((x) => x.bucketMs), 'bigint')}) c(i, s, b) on c.i = r.span_index`;
}
