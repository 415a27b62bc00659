// Writes usage events to Postgres exactly once: one statement inserts the batch with
// ON CONFLICT (request_id, time) DO NOTHING (the partitioned table's key; an event's time is fixed
// when the gateway records it, so a redelivery carries the same pair) and adds to every rollup
// table (src/usage/rollup-tables.ts) only the rows that insert returned, so a redelivered batch
// (crash between commit and XACK, a claimed entry) changes neither the events nor the rollups. Pass-through calls (unmetered) are rows like any other and
// count as requests in the rollups, so rollups add up to the events; unmetered_requests tells them apart.
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import type { UsageEvent } from './event.js';
import { createPartitions, isMissingPartition, monthOf } from './partitions.js';
import { type RollupTable, rollupTables } from './rollup-tables.js';

export interface RejectedEvent {
  event: UsageEvent;
  error: unknown;
}

export interface LedgerWriteResult {
  // Rows actually added; the rest of the batch was already in the ledger (or rejected).
  inserted: number;
  // Events Postgres refuses on their own (e.g. a NUL byte in a string, a number out of range).
  // The rest of the batch is written regardless, so one bad event cannot stall the pipeline.
  rejected: RejectedEvent[];
}

// Throws only when the write could not happen at all (connection lost, deadlock): the caller
// retries the whole batch, which is safe because every statement is idempotent.
export async function writeUsageEvents(db: Db, events: readonly UsageEvent[]): Promise<LedgerWriteResult> {
  const rejected: RejectedEvent[] = [];
  const inserted = events.length === 0 ? 0 : await writeIsolatingBadRows(db, events, rejected);
  return { inserted, rejected };
}

// Bisects a batch that Postgres refuses for its data until the offending events are alone.
// Halves committed before a later failure are harmless: the retry skips them by request id.
async function writeIsolatingBadRows(db: Db, events: readonly UsageEvent[], rejected: RejectedEvent[]): Promise<number> {
  try {
    return await insertCreatingPartitions(db, events);
  } catch (error) {
    if (!isDataError(error)) throw error;
    if (events.length === 1) {
      rejected.push({ event: events[0]!, error });
      return 0;
    }
    const middle = events.length >> 1;
    const left = await writeIsolatingBadRows(db, events.slice(0, middle), rejected);
    return left + (await writeIsolatingBadRows(db, events.slice(middle), rejected));
  }
}

// The maintenance task keeps partitions two months ahead; an event outside them (a clock far off,
// a replay of an old stream) makes its month here instead of being refused as a bad row.
async function insertCreatingPartitions(db: Db, events: readonly UsageEvent[]): Promise<number> {
  try {
    return await insertBatch(db, events);
  } catch (error) {
    if (!isMissingPartition(error)) throw error;
    await createPartitions(db, events.map((e) => monthOf(e.timeMs)));
    return insertBatch(db, events);
  }
}

// One rollup table's sums of the rows `source` yields, bucketed by the table's width from a UTC
// origin; `tail` follows the grouping (the ledger's ordering and upsert). Shared with the bench's
// bulk load, so both make the same sums.
export function rollupInsert({ table, bucket, width, dimensions }: RollupTable, source: SQL, tail: SQL = sql``): SQL {
  const dims = sql.raw(dimensions.join(', '));
  return sql`
      insert into ${sql.identifier(table)} as r (${sql.identifier(bucket)}, org_id, ${dims},
        requests, error_requests, estimated_requests, unmetered_requests, prompt_tokens, cached_tokens,
        completion_tokens, reasoning_tokens, cost_micros, latency_ms_sum, max_tokens_unstated_requests, max_tokens_unstated_output_tokens)
      select date_bin(${sql.raw(`'${width}'`)}, time, timestamptz '2000-01-01T00:00:00Z') as bucket, org_id, ${dims}, count(*),
        count(*) filter (where status >= 400 or error_code is not null),
        count(*) filter (where estimated), count(*) filter (where unmetered), sum(prompt_tokens), sum(cached_tokens),
        sum(completion_tokens), sum(reasoning_tokens), sum(cost_micros), sum(latency_ms), count(*) filter (where max_tokens_unstated),
        coalesce(sum(completion_tokens) filter (where max_tokens_unstated), 0)
      from ${source}
      group by 1, org_id, ${dims} ${tail}`;
}

// Adds the inserted rows to one rollup table. Rows are upserted in key order so concurrent
// flushers lock them in the same order and cannot deadlock.
const rollupUpsert = (t: RollupTable): SQL =>
  rollupInsert(
    t,
    sql`inserted`,
    sql`order by org_id, 1, ${sql.raw(t.dimensions.join(', '))}
      on conflict on constraint ${sql.identifier(t.constraint)} do update set
        requests = r.requests + excluded.requests,
        error_requests = r.error_requests + excluded.error_requests,
        estimated_requests = r.estimated_requests + excluded.estimated_requests,
        unmetered_requests = r.unmetered_requests + excluded.unmetered_requests,
        prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
        cached_tokens = r.cached_tokens + excluded.cached_tokens,
        completion_tokens = r.completion_tokens + excluded.completion_tokens,
        reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens,
        cost_micros = r.cost_micros + excluded.cost_micros,
        latency_ms_sum = r.latency_ms_sum + excluded.latency_ms_sum,
        max_tokens_unstated_requests = r.max_tokens_unstated_requests + excluded.max_tokens_unstated_requests,
        max_tokens_unstated_output_tokens = r.max_tokens_unstated_output_tokens + excluded.max_tokens_unstated_output_tokens`,
  );

const rollupUpserts = sql.join(rollupTables.map((t, i) => sql`, ${sql.raw(`rollup${i}`)} as (${rollupUpsert(t)})`), sql``);

async function insertBatch(db: Db, events: readonly UsageEvent[]): Promise<number> {
  // The batch travels as one JSON parameter: no bind-parameter limit, one parse on the server.
  const result = await db.execute(sql`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as x(
        "requestId" text, "timeMs" bigint, "orgId" text, "teamId" text, "userId" text, "keyId" text,
        provider text, model text, "promptTokens" bigint, "cachedTokens" bigint,
        "completionTokens" bigint, "reasoningTokens" bigint, "costMicros" bigint, status integer,
        "errorCode" text, stream boolean, "latencyMs" bigint, "ttfbMs" bigint, estimated boolean,
        unmetered boolean, "sessionId" text, tags jsonb, "maxTokensUnstated" boolean)
    ), inserted as (
      insert into usage_events (request_id, time, org_id, team_id, user_id, key_id, provider, model,
        prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros, status,
        error_code, stream, latency_ms, ttfb_ms, estimated, unmetered, session_id, tags, max_tokens_unstated)
      select "requestId", timestamptz 'epoch' + "timeMs" * interval '1 millisecond', "orgId",
        "teamId", "userId", "keyId", provider, model, "promptTokens", "cachedTokens",
        "completionTokens", "reasoningTokens", "costMicros", status, "errorCode", stream,
        "latencyMs", "ttfbMs", estimated, coalesce(unmetered, false), "sessionId", tags, coalesce("maxTokensUnstated", false)
      from input
      on conflict (request_id, time) do nothing
      returning *
    )${rollupUpserts}
    select count(*)::int as inserted from inserted`);
  const rows = (result as unknown as { rows: Array<{ inserted: number }> }).rows;
  return rows[0]?.inserted ?? 0;
}

// SQLSTATE classes 22 (data exception) and 23 (integrity constraint) mean these rows can never
// be written; anything else (connection, deadlock, shutdown) is worth retrying.
function isDataError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

// drizzle wraps driver errors; the SQLSTATE sits on the driver error in the cause chain.
function sqlState(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
