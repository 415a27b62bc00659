// GET /v1/usage/history: a key holder's own usage by local day (all of their keys), every day of the
// range listed, zero where nothing was used. The same query as the admin API's, held to one user.
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { addDays, daysBetween, dayInZone } from './days.js';
import { publicMeasures, queryUsage, type UsageMeasures } from './query.js';
import { timeZoneSchema } from './time-zone.js';

const maxDays = 400;
const day = z.iso.date();

const historyQuery = z.object({
  from: day.optional(),
  to: day.optional(),
  tz: timeZoneSchema,
  group_by: z.enum(['model', 'key', 'provider']).optional(),
});

const counted = ['requests', 'errors', 'inputTokens', 'cachedTokens', 'outputTokens', 'reasoningTokens', 'costMicros'] as const;
type Counts = Pick<UsageMeasures, (typeof counted)[number]>;

const sumOf = (rows: readonly Counts[]): Counts => Object.fromEntries(counted.map((k) => [k, rows.reduce((s, r) => s + r[k], 0)])) as Counts;

export async function usageHistory(db: Db, principal: Principal, search: URLSearchParams, nowMs: number) {
  const parsed = historyQuery.safeParse(Object.fromEntries(search));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.map(String).join('.');
    throw new GatewayError('invalid_request', `${param}: ${issue.message}`, param || null);
  }
  const { tz, group_by: groupBy } = parsed.data;
  const to = parsed.data.to ?? dayInZone(nowMs, tz);
  const from = parsed.data.from ?? addDays(to, -29);
  const length = daysBetween(from, to) + 1;
  if (length < 1 || length > maxDays) throw new GatewayError('invalid_request', `from..to must cover 1 to ${maxDays} days.`, 'from');
  const result = await queryUsage(
    db,
    { orgId: principal.orgId, teamIds: null, userId: principal.userId },
    { from, to, tz, dimensions: groupBy ? [groupBy] : [], bucket: 'day', filters: {}, source: 'auto', limit: maxDays * 200 },
  );
  const byDay = new Map<string, typeof result.rows>();
  for (const row of result.rows) byDay.set(row.bucket!.slice(0, 10), [...(byDay.get(row.bucket!.slice(0, 10)) ?? []), row]);
  const data = Array.from({ length }, (_, i) => {
    const d = addDays(from, i);
    const rows = byDay.get(d) ?? [];
    return { day: d, ...publicMeasures(sumOf(rows)), ...(groupBy ? { [`by_${groupBy}`]: rows.map((r) => ({ [groupBy]: r[groupBy], ...publicMeasures(r) })) } : {}) };
  });
  return { object: 'usage_history', user_id: principal.userId, tz, from, to, data, total: publicMeasures(result.totals) };
}

