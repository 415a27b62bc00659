// The usage query reconciles exactly with the ledger: grouped rows add up to the same sums a plain
// `select sum(...) from usage_events` gives for the range, and each local day, hour, week or month
// holds exactly the events whose local time (worked out here with Node's own time zone data) falls
// in it — across both 2026 US DST changes and the +05:30 and +05:45 midnights, on Postgres and PGlite.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, dayOfWeek } from '../../src/analytics/days.js';
import type { Dimension, TimeBucket } from '../../src/analytics/dimensions.js';
import { queryUsage, type UsageQuery, type UsageResult } from '../../src/analytics/query.js';
import { everything } from '../../src/control/visibility.js';
import { createPgliteDatabase, createPostgresDatabase, postgresAvailable, type TestDatabase } from '../usage/support.js';
import { seedUsage } from './seed.js';

const pgUp = await postgresAvailable();

interface LedgerRow {
  timeMs: number;
  orgId: string;
  teamId: string | null;
  userId: string;
  keyId: string;
  provider: string;
  model: string;
  tags: Record<string, string>;
  requests: number;
  errors: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costMicros: number;
}

const measures = ['requests', 'errors', 'inputTokens', 'cachedTokens', 'outputTokens', 'reasoningTokens', 'costMicros'] as const;

// Local wall-clock parts of an instant, from Node's ICU data (not Postgres's).
const formats = new Map<string, Intl.DateTimeFormat>();
function local(ms: number, tz: string) {
  let format = formats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset' });
    formats.set(tz, format);
  }
  const parts = Object.fromEntries(format.formatToParts(ms).map((p) => [p.type, p.value]));
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName!.slice(3);
  return { day: `${parts.year}-${parts.month}-${parts.day}`, hour: parts.hour!, offset };
}

// The bucket label the query should give an instant, worked out independently.
function bucketOf(ms: number, tz: string, bucket: TimeBucket): string {
  const { day, hour, offset } = local(ms, tz);
  if (bucket === 'hour') return `${day}T${hour}:00:00${offset}`;
  const start = bucket === 'day' ? day : bucket === 'month' ? `${day.slice(0, 8)}01` : addDays(day, -((dayOfWeek(day) + 6) % 7));
  return `${start}T00:00:00${startOffset(start, tz)}`;
}

// The offset in force at the local start of a day, read from the first quarter hour that is in it.
const startOffsets = new Map<string, string>();
function startOffset(start: string, tz: string): string {
  const key = `${tz} ${start}`;
  const known = startOffsets.get(key);
  if (known) return known;
  const startMs = Date.parse(`${start}T00:00:00Z`) - 14 * 3_600_000;
  let probe = startMs;
  while (local(probe, tz).day !== start) probe += 15 * 60_000;
  startOffsets.set(key, local(probe, tz).offset);
  return local(probe, tz).offset;
}

const dimensionOf = (row: LedgerRow, d: Dimension): string | null =>
  d.startsWith('tag:') ? (row.tags[d.slice(4)] ?? null) : { org: row.orgId, team: row.teamId, user: row.userId, key: row.keyId, provider: row.provider, model: row.model }[d as 'org'];

function expectedRows(ledger: readonly LedgerRow[], q: Pick<UsageQuery, 'tz' | 'bucket' | 'dimensions'>, fromMs: number, toMs: number) {
  const groups = new Map<string, Record<string, number>>();
  for (const row of ledger) {
    if (row.timeMs < fromMs || row.timeMs >= toMs) continue;
    const key = JSON.stringify([q.bucket ? bucketOf(row.timeMs, q.tz, q.bucket) : null, ...q.dimensions.map((d) => dimensionOf(row, d))]);
    const sums = groups.get(key) ?? Object.fromEntries(measures.map((m) => [m, 0]));
    for (const m of measures) sums[m]! += row[m];
    groups.set(key, sums);
  }
  return groups;
}

function actualRows(result: UsageResult) {
  return new Map(result.rows.map((r) => [JSON.stringify([r.bucket ?? null, ...result.groupBy.map((d) => r[d] ?? null)]), Object.fromEntries(measures.map((m) => [m, r[m]]))]));
}

const backends: Array<[string, boolean, () => Promise<TestDatabase>]> = [
  ['Postgres', pgUp, () => createPostgresDatabase('analytics_query')],
  ['PGlite', true, createPgliteDatabase],
];

describe.each(backends)('usage query on %s', (_name, available, open) => {
  let test: TestDatabase;
  let ledger: LedgerRow[];

  beforeAll(async () => {
    test = await open();
    await seedUsage(test.database.db);
    const rows = (await test.database.db.execute(sql`
      select (extract(epoch from time) * 1000)::bigint as time_ms, org_id, team_id, user_id, key_id, provider, model, tags, status, error_code,
        prompt_tokens, cached_tokens, completion_tokens, reasoning_tokens, cost_micros from usage_events`)) as unknown as { rows: Array<Record<string, any>> };
    ledger = rows.rows.map((r) => ({
      timeMs: Number(r.time_ms),
      orgId: r.org_id,
      teamId: r.team_id,
      userId: r.user_id,
      keyId: r.key_id,
      provider: r.provider,
      model: r.model,
      tags: typeof r.tags === 'string' ? JSON.parse(r.tags) : r.tags,
      requests: 1,
      errors: r.status >= 400 || r.error_code !== null ? 1 : 0,
      inputTokens: Number(r.prompt_tokens),
      cachedTokens: Number(r.cached_tokens),
      outputTokens: Number(r.completion_tokens),
      reasoningTokens: Number(r.reasoning_tokens),
      costMicros: Number(r.cost_micros),
    }));
  }, 120_000);
  afterAll(() => test?.drop());

  const run = (q: Partial<UsageQuery> & Pick<UsageQuery, 'from' | 'to'>) =>
    queryUsage(test.database.db, everything, { tz: 'UTC', dimensions: [], bucket: null, filters: {}, source: 'auto', limit: 10_000, ...q });

  async function ledgerSums(fromIso: string, toIso: string, orgId?: string) {
    const result = (await test.database.db.execute(sql`
      select count(*)::bigint as requests, sum(prompt_tokens)::bigint as input, sum(cached_tokens)::bigint as cached,
        sum(completion_tokens)::bigint as output, sum(reasoning_tokens)::bigint as reasoning, sum(cost_micros)::bigint as cost
      from usage_events where time >= ${fromIso}::timestamptz and time < ${toIso}::timestamptz ${orgId ? sql`and org_id = ${orgId}` : sql``}`)) as unknown as { rows: Array<Record<string, string>> };
    const r = result.rows[0]!;
    return { requests: Number(r.requests), inputTokens: Number(r.input), cachedTokens: Number(r.cached), outputTokens: Number(r.output), reasoningTokens: Number(r.reasoning), costMicros: Number(r.cost) };
  }

  it.skipIf(!available)('gives the totals of select sum(...) from usage_events for local days in Kolkata, Kathmandu and New York', async () => {
    const cases = [
      // The instants are where those local days begin and end, written out by hand.
      // By model: the team level rollups, whose 15-minute rows split the hour around a +05:30 or +05:45 midnight.
      { tz: 'Asia/Kolkata', from: '2026-11-01', to: '2026-11-02', fromIso: '2026-10-31T18:30:00Z', toIso: '2026-11-02T18:30:00Z', source: 'rollups' },
      { tz: 'Asia/Kathmandu', from: '2026-11-01', to: '2026-11-02', fromIso: '2026-10-31T18:15:00Z', toIso: '2026-11-02T18:15:00Z', source: 'rollups' },
      // 2026-11-01 has 25 hours in New York, 2026-03-08 has 23.
      { tz: 'America/New_York', from: '2026-11-01', to: '2026-11-01', fromIso: '2026-11-01T04:00:00Z', toIso: '2026-11-02T05:00:00Z', source: 'rollups' },
      { tz: 'America/New_York', from: '2026-03-08', to: '2026-03-08', fromIso: '2026-03-08T05:00:00Z', toIso: '2026-03-09T04:00:00Z', source: 'rollups' },
      { tz: 'UTC', from: '2026-10-27', to: '2026-11-04', fromIso: '2026-10-27T00:00:00Z', toIso: '2026-11-05T00:00:00Z', source: 'rollups' },
    ];
    for (const c of cases) {
      const result = await run({ tz: c.tz, from: c.from, to: c.to, bucket: 'day', dimensions: ['model'] });
      const expected = await ledgerSums(c.fromIso, c.toIso);
      expect(expected.requests).toBeGreaterThan(0);
      expect({ tz: c.tz, source: result.source, fromMs: result.fromMs, toMs: result.toMs }).toEqual({ tz: c.tz, source: c.source, fromMs: Date.parse(c.fromIso), toMs: Date.parse(c.toIso) });
      expect(result.totals).toMatchObject(expected);
      for (const m of measures) expect(result.rows.reduce((s, r) => s + r[m], 0)).toBe(result.totals[m]);
    }
  });

  it.skipIf(!available)('puts every event in its local day, hour, week or month on both sides of DST changes and half-hour midnights', async () => {
    const cases: Array<{ tz: string; bucket: TimeBucket; dimensions: Dimension[]; from: string; to: string }> = [
      { tz: 'Asia/Kolkata', bucket: 'day', dimensions: ['team'], from: '2026-10-27', to: '2026-11-04' },
      { tz: 'Asia/Kathmandu', bucket: 'hour', dimensions: [], from: '2026-11-01', to: '2026-11-02' },
      { tz: 'America/New_York', bucket: 'hour', dimensions: ['provider'], from: '2026-10-31', to: '2026-11-02' },
      { tz: 'America/New_York', bucket: 'day', dimensions: ['user', 'model'], from: '2026-03-04', to: '2026-03-11' },
      { tz: 'Europe/Berlin', bucket: 'week', dimensions: ['org'], from: '2026-10-26', to: '2026-11-04' },
      { tz: 'Australia/Adelaide', bucket: 'month', dimensions: ['tag:project'], from: '2026-03-01', to: '2026-11-30' },
      // Signed spans: UTC days less or plus their overhangs, on a +05:45 day and the 25-hour New York day.
      { tz: 'Asia/Kathmandu', bucket: 'day', dimensions: ['model'], from: '2026-10-30', to: '2026-11-03' },
      { tz: 'America/New_York', bucket: 'day', dimensions: [], from: '2026-10-30', to: '2026-11-03' },
      { tz: 'America/New_York', bucket: 'day', dimensions: ['key'], from: '2026-03-06', to: '2026-03-10' },
    ];
    for (const c of cases) {
      const result = await run(c);
      const expected = expectedRows(ledger, c, result.fromMs, result.toMs);
      expect(expected.size).toBeGreaterThan(1);
      expect({ case: c, rows: actualRows(result) }).toEqual({ case: c, rows: expected });
    }
  });

  it.skipIf(!available)('answers the same from signed spans of wide or team level rollups (daily, hourly, 15-minute, with events for split hours) as from raw events alone', async () => {
    const cases: Array<{ tz: string; bucket: TimeBucket | null; dimensions: Dimension[]; expected: string }> = [
      { tz: 'UTC', bucket: 'day', dimensions: ['team', 'key'], expected: 'rollups' },
      { tz: 'America/New_York', bucket: 'day', dimensions: ['team', 'key'], expected: 'rollups' },
      { tz: 'Europe/Berlin', bucket: 'week', dimensions: ['model'], expected: 'rollups' },
      // Users or keys: the wide rollups, with raw events for the hour a +05:30 midnight splits.
      { tz: 'Asia/Kolkata', bucket: 'day', dimensions: ['user', 'model'], expected: 'mixed' },
      { tz: 'Asia/Kathmandu', bucket: 'day', dimensions: ['key'], expected: 'mixed' },
      // Org, team, provider and model alone: the team level rollups, 15-minute rows included.
      { tz: 'Asia/Kathmandu', bucket: null, dimensions: ['team'], expected: 'rollups' },
      { tz: 'Asia/Kolkata', bucket: 'month', dimensions: ['provider'], expected: 'rollups' },
      { tz: 'Asia/Kolkata', bucket: 'day', dimensions: [], expected: 'rollups' },
      { tz: 'Asia/Kathmandu', bucket: 'hour', dimensions: ['org', 'team', 'provider', 'model'], expected: 'rollups' },
      { tz: 'America/New_York', bucket: 'week', dimensions: ['team', 'model'], expected: 'rollups' },
      // Signed spans at the team level: a +05:45 day and a DST day, by day and by hour.
      { tz: 'Asia/Kathmandu', bucket: 'day', dimensions: ['team'], expected: 'rollups' },
      { tz: 'America/New_York', bucket: 'day', dimensions: ['model'], expected: 'rollups' },
      { tz: 'America/New_York', bucket: 'hour', dimensions: [], expected: 'rollups' },
    ];
    for (const c of cases) {
      const { expected, ...shape } = c;
      const q = { ...shape, from: '2026-10-28', to: '2026-11-03' };
      const [planned, events] = await Promise.all([run(q), run({ ...q, source: 'events' })]);
      expect([c, planned.source, events.source]).toEqual([c, expected, 'events']);
      const strip = (r: UsageResult) => r.rows.map(({ latencyMsP50, latencyMsP95, ...rest }) => rest);
      expect(strip(planned)).toEqual(strip(events));
      expect(planned.totals).toEqual({ ...events.totals, latencyMsP50: null, latencyMsP95: null });
      expect(events.rows.every((r) => r.latencyMsP50 !== null && r.latencyMsP95! >= r.latencyMsP50!)).toBe(true);
    }
  });

  it.skipIf(!available)('filters by org, a team with its sub-teams, model and tag', async () => {
    const q = { tz: 'Asia/Kolkata', from: '2026-10-27', to: '2026-11-04' };
    const result = await run({ ...q, filters: { org: ['org_a'], team: ['team_research'], model: ['gpt-4o', 'claude-sonnet-4'], tags: [{ name: 'project', value: 'apollo' }] }, dimensions: ['team'] });
    const inRange = ledger.filter(
      (r) => r.timeMs >= result.fromMs && r.timeMs < result.toMs && r.orgId === 'org_a' && ['team_research', 'team_ml'].includes(r.teamId ?? '') && r.model !== 'gpt-4o-mini' && r.tags.project === 'apollo',
    );
    expect(result.rows.map((r) => r.team).sort()).toEqual(['team_ml', 'team_research']);
    expect(result.totals.costMicros).toBe(inRange.reduce((s, r) => s + r.costMicros, 0));
    expect(result.totals.requests).toBe(inRange.length);
  });

  it.skipIf(!available)('limits rows but keeps totals over every row, and scopes to what the caller may see', async () => {
    const q = { from: '2026-10-27', to: '2026-11-04', dimensions: ['key'] as Dimension[] };
    const all = await run(q);
    const limited = await run({ ...q, limit: 3 });
    expect(limited.rows).toEqual(all.rows.slice(0, 3));
    expect([limited.truncated, all.truncated, limited.totals]).toEqual([true, false, all.totals]);
    const own = await queryUsage(test.database.db, { orgId: 'org_a', teamIds: null, userId: 'usr_dev' }, { ...q, tz: 'UTC', bucket: null, filters: {}, source: 'auto', limit: 100 });
    expect(new Set(own.rows.map((r) => r.key))).toEqual(new Set(['key_dev_0', 'key_dev_1']));
    const teams = await queryUsage(test.database.db, { orgId: 'org_a', teamIds: ['team_ml'], userId: null }, { ...q, dimensions: ['user'], tz: 'UTC', bucket: null, filters: {}, source: 'auto', limit: 100 });
    expect(teams.rows.map((r) => r.user)).toEqual(['usr_dev']);
    const none = await queryUsage(test.database.db, { orgId: 'org_a', teamIds: [], userId: null }, { ...q, tz: 'UTC', bucket: null, filters: {}, source: 'auto', limit: 100 });
    expect(none.totals.requests).toBe(0);
  });

  it.skipIf(!available)('refuses a zone Postgres does not know and an empty range as the caller\'s mistake', async () => {
    await expect(run({ from: '2026-11-02', to: '2026-11-01' })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(run({ tz: 'Mars/Olympus_Mons', from: '2026-11-01', to: '2026-11-02' })).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
