// What the usage ledger says a budget bucket has used in its window: the source a lost budget
// counter is rebuilt from (Redis restarted empty, or the embedded process restarted). A team's
// bucket counts the events of the team and of every team below it, as charging does. Pass-through
// calls (unmetered rows) are left out, as live charging leaves them out: a rebuild must give back
// the counter the store would have held.
import { sql, type SQL } from 'drizzle-orm';
import type { LedgerTotals } from '../budget/engine.js';
import type { BucketPlan } from '../budget/store.js';
import type { Db } from '../db/database.js';

const amountOf: Record<BucketPlan['measure'], SQL> = {
  tokens: sql`coalesce(sum(prompt_tokens + completion_tokens), 0)`,
  costMicros: sql`coalesce(sum(cost_micros), 0)`,
  requests: sql`count(*)`,
  // In-flight counts are never rebuilt (their ledgerFromMs is null).
  inflight: sql`0`,
};

function scopeFilter(bucket: BucketPlan): SQL {
  const { scope, scopeId } = bucket.ref;
  switch (scope) {
    case 'key':
      return sql`key_id = ${scopeId}`;
    case 'user':
      return sql`user_id = ${scopeId}`;
    case 'org':
      return sql`true`;
    case 'team':
      // union, not union all: a parent cycle made by hand ends instead of looping.
      return sql`team_id in (with recursive below(id) as (select ${scopeId}::text union select t.id from teams t join below on t.parent_id = below.id) select id from below)`;
  }
}

export function ledgerTotals(db: Db): LedgerTotals {
  return (orgId, buckets, untilMs) =>
    Promise.all(
      buckets.map(async (bucket) => {
        const fromMs = bucket.ledgerFromMs ?? untilMs;
        const result = await db.execute(sql`
          select ${amountOf[bucket.measure]}::bigint as total from usage_events
          where org_id = ${orgId} and not unmetered and ${scopeFilter(bucket)}
            and time >= timestamptz 'epoch' + ${fromMs}::bigint * interval '1 millisecond'
            and time <= timestamptz 'epoch' + ${untilMs}::bigint * interval '1 millisecond'`);
        return Number((result as unknown as { rows: Array<{ total: string | number }> }).rows[0]!.total);
      }),
    );
}
