// `tollgate status [--user U]`: where someone stands: usage today and this month, each budget with
// used, limit and when it resets, and the month's spend forecast (P10/P50/P90, run-out day) from
// the analytics forecast over the last 30 days. With a Tollgate key (TOLLGATE_KEY) it is the key
// holder's own standing from GET /v1/usage and /v1/usage/history; with --user it is anyone's an
// admin may see, from the admin API's usage query and budget forecasts.
import { request } from 'undici';
import { addDays, daysBetween, dayInZone } from '../../analytics/days.js';
import { forecastBudget } from '../../analytics/forecast.js';
import type { BudgetForecastRecord } from '../../analytics/analyse.js';
import { usd } from '../../analytics/report-format.js';
import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { userId } from '../resolve.js';
import { UsageError } from './keys.js';

interface DayCost {
  readonly day: string;
  readonly costMicros: number;
  readonly requests: number;
}

interface BudgetStanding {
  scope: string;
  scope_id: string;
  metric: string;
  window: string;
  used: number;
  limit: number | null;
  resets_at: string | null;
}

const lastDayOfMonth = (day: string) => addDays(`${addDays(`${day.slice(0, 8)}01`, 32).slice(0, 8)}01`, -1);

// The month's spend so far and its forecast: history is the complete days before today.
export function standing(days: readonly DayCost[], today: string, nowMs: number, budgets: BudgetStanding[]) {
  const month = days.filter((d) => d.day >= `${today.slice(0, 8)}01` && d.day <= today);
  const monthCost = month.reduce((s, d) => s + d.costMicros, 0);
  const monthLimit = budgets.filter((b) => b.metric === 'costMicros' && b.window === 'month' && b.limit !== null).map((b) => b.limit!).sort((a, b) => a - b)[0] ?? null;
  const startOfDayMs = Date.parse(`${today}T00:00:00Z`);
  const forecast = forecastBudget({
    history: days.filter((d) => d.day < today).map((d) => d.costMicros),
    firstForecastDay: today,
    horizonDays: daysBetween(today, lastDayOfMonth(today)) + 1,
    firstDayShareAhead: 1 - Math.min(1, Math.max(0, (nowMs - startOfDayMs) / 86_400_000)),
    usedAmount: monthCost,
    limitAmount: monthLimit,
  });
  const todayRow = days.find((d) => d.day === today);
  return {
    today: { day: today, requests: todayRow?.requests ?? 0, cost_micros: todayRow?.costMicros ?? 0 },
    month: { from: `${today.slice(0, 8)}01`, requests: month.reduce((s, d) => s + d.requests, 0), cost_micros: monthCost },
    budgets,
    forecast: { method: forecast.method, month_end_p10_micros: forecast.endOfPeriod.p10Amount, month_end_p50_micros: forecast.endOfPeriod.p50Amount, month_end_p90_micros: forecast.endOfPeriod.p90Amount, limit_micros: monthLimit, run_out_day: forecast.runOutDay },
  };
}

async function ownStanding(url: string, key: string, nowMs: number) {
  const get = async (path: string) => {
    const res = await request(new URL(path, url), { headers: { authorization: `Bearer ${key}` } });
    const body = (await res.body.json()) as any;
    if (res.statusCode !== 200) throw new Error(body.error?.message ?? `GET ${path} answered ${res.statusCode}`);
    return body;
  };
  const today = dayInZone(nowMs, 'UTC');
  const [usage, history] = await Promise.all([get('/v1/usage'), get(`/v1/usage/history?from=${addDays(today, -30)}&to=${today}`)]);
  const days = (history.data as any[]).map((d) => ({ day: d.day, costMicros: d.cost_micros, requests: d.requests }));
  const budgets = (usage.budgets as any[]).map((b) => ({ scope: b.scope, scope_id: b.scope_id, metric: b.metric, window: b.window, used: b.used, limit: b.limit, resets_at: b.resets_at }));
  return { user_id: history.user_id as string, ...standing(days, today, nowMs, budgets) };
}

// The first instant after a budget period's last local day, as an ISO string in UTC.
const resetOf = (r: BudgetForecastRecord): string | null => (r.window === 'total' ? null : `${addDays(r.forecast.periodLastDay, 1)} 00:00 ${r.timezone ?? 'UTC'}`);

export const status = apiCommand({
  name: 'status',
  summary: "Where you stand: usage today and this month, budgets (used/limit/reset) and the month's forecast. With TOLLGATE_KEY your own; admins: --user U (--org).",
  options: { user: { type: 'string' }, key: { type: 'string' } },
  async run({ client, org, str, values, out }) {
    const nowMs = Date.now();
    const user = str('user');
    const key = str('key') ?? process.env.TOLLGATE_KEY;
    let result: ReturnType<typeof standing> & { user_id: string };
    if (!user) {
      if (!process.env.TOLLGATE_URL || !key) throw new UsageError('status needs TOLLGATE_URL and your Tollgate key (--key or TOLLGATE_KEY), or --user U with admin access');
      result = await ownStanding(process.env.TOLLGATE_URL, key, nowMs);
    } else {
      const orgId = await org();
      const id = await userId(client, orgId, user);
      const who = await client.call('GET', `/users/${id}`);
      const today = dayInZone(nowMs, 'UTC');
      const [usage, analysis] = await Promise.all([
        client.call('GET', '/usage', { query: { from: addDays(today, -30), to: today, tz: 'UTC', groupBy: 'day', user: id } }),
        client.call('GET', '/analytics', { query: { orgId, forecast: 'true' } }),
      ]);
      const days = (usage.rows as any[]).map((r) => ({ day: String(r.bucket).slice(0, 10), costMicros: r.costMicros, requests: r.requests }));
      const applies = (r: BudgetForecastRecord) => r.scope === 'org' || (r.scope === 'user' && r.subjectId === id) || (r.scope === 'team' && r.subjectId === who.teamId);
      const budgets = ((analysis.forecasts ?? []) as BudgetForecastRecord[])
        .filter(applies)
        .map((r) => ({ scope: r.scope, scope_id: r.subjectId, metric: r.metric, window: r.window, used: r.forecast.usedAmount, limit: r.forecast.limitAmount, resets_at: resetOf(r) }));
      result = { user_id: id, ...standing(days, today, nowMs, budgets) };
    }
    if (values.json) return void out(JSON.stringify(result));
    out(`user ${result.user_id}`);
    out(`today ${result.today.day}: ${result.today.requests} requests, ${usd(result.today.cost_micros)}`);
    out(`month from ${result.month.from}: ${result.month.requests} requests, ${usd(result.month.cost_micros)}`);
    const f = result.forecast;
    out(`month-end forecast (${f.method}): P10 ${usd(f.month_end_p10_micros)}, P50 ${usd(f.month_end_p50_micros)}, P90 ${usd(f.month_end_p90_micros)}${f.limit_micros === null ? '' : ` of ${usd(f.limit_micros)}${f.run_out_day ? `, runs out ${f.run_out_day}` : ''}`}`);
    out('');
    print(out, false, result.budgets, ['scope', 'scope_id', 'metric', 'window', 'used', 'limit', 'resets_at']);
  },
});
