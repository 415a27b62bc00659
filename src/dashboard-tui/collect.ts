// Gathers one dashboard snapshot from the gateway's existing APIs, each section on its own so one
// missing or refused route leaves the others: /metrics (traffic, rates over the recent scrapes),
// GET /admin/v1/usage (today's spend and top users), GET /admin/v1/analytics (each budget's use
// against its limit) and GET /admin/v1/alerts?state=firing.
import { ApiError, type AdminClient } from '../cli/admin-client.js';
import type { BudgetForecastRecord } from '../analytics/analyse.js';
import type { UsageResult } from '../analytics/query.js';
import { parsePrometheusText } from './prometheus-text.js';
import type { AlertLine, BudgetLine, Section, Snapshot, SpendToday } from './snapshot.js';
import { type Counters, readCounters, trafficBetween } from './traffic.js';

export interface CollectorSources {
  // Where the figures come from, as shown in the title.
  readonly gateway: string;
  // The text of GET /metrics.
  scrapeMetrics(): Promise<string>;
  readonly admin: Pick<AdminClient, 'call'>;
  // null: every org the credential may see.
  readonly org: { readonly id: string; readonly name: string } | null;
}

export interface CollectorOptions {
  // Rates cover the scrapes of about this long.
  readonly rateWindowMs?: number;
  readonly topUsers?: number;
  readonly topBudgets?: number;
  // Orgs whose budgets are read when no --org is given.
  readonly maxOrgs?: number;
}

export interface Collector {
  snapshot(nowMs: number): Promise<Snapshot>;
}

// Why a section is missing, in the words the panel shows.
export function unavailable(err: unknown): Section<never> {
  if (err instanceof ApiError && err.status === 404) return { ok: false, reason: 'Not available on this gateway.' };
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return { ok: false, reason: `Not permitted for this credential (${err.code}).` };
  return { ok: false, reason: `Not available: ${(err as Error).message}` };
}

async function section<T>(read: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    return unavailable(err);
  }
}

const maxNames = 1_000;

export function createCollector(sources: CollectorSources, options: CollectorOptions = {}): Collector {
  const { admin, org } = sources;
  const rateWindowMs = options.rateWindowMs ?? 10_000;
  const history: Counters[] = [];
  const names = new Map<string, string>();

  async function userName(id: string | null | undefined): Promise<string> {
    if (!id) return '(no user)';
    if (!names.has(id)) {
      const user = await admin.call<{ name?: string }>('GET', `/users/${id}`).catch(() => ({ name: undefined }));
      if (names.size >= maxNames) names.delete(names.keys().next().value!);
      names.set(id, user.name ?? id);
    }
    return names.get(id)!;
  }

  async function traffic(nowMs: number) {
    const latest = readCounters(parsePrometheusText(await sources.scrapeMetrics()), nowMs);
    history.push(latest);
    // Keep one scrape at or before the window's start as the base.
    while (history.length > 2 && history[1]!.atMs <= nowMs - rateWindowMs) history.shift();
    return trafficBetween(history.length > 1 ? history[0] : undefined, latest);
  }

  async function spend(nowMs: number): Promise<SpendToday> {
    const day = new Date(nowMs).toISOString().slice(0, 10);
    const result = await admin.call<UsageResult>('GET', '/usage', { query: { from: day, to: day, tz: 'UTC', groupBy: 'user', org: org?.id, limit: String(options.topUsers ?? 20) } });
    const users = await Promise.all(
      result.rows.map(async (r) => ({ user: await userName(r.user), requests: r.requests, tokens: r.inputTokens + r.outputTokens, costMicros: r.costMicros })),
    );
    return { day, requests: result.totals.requests, costMicros: result.totals.costMicros, users };
  }

  async function budgets(): Promise<BudgetLine[]> {
    const orgs = org ? [org] : (await admin.call<{ data: Array<{ id: string; name: string }> }>('GET', '/orgs')).data.slice(0, options.maxOrgs ?? 10);
    const lines: BudgetLine[] = [];
    for (const o of orgs) {
      const { forecasts = [] } = await admin.call<{ forecasts?: BudgetForecastRecord[] }>('GET', '/analytics', { query: { orgId: o.id, forecast: 'true', lookbackDays: '14' } });
      for (const f of forecasts) {
        if (f.forecast.limitAmount === null) continue;
        const subject = f.scope === 'user' ? await userName(f.subjectId) : f.subjectId;
        lines.push({ orgName: org ? '' : o.name, scope: f.scope, subject, metric: f.metric, window: f.window, usedAmount: f.forecast.usedAmount, limitAmount: f.forecast.limitAmount });
      }
    }
    const share = (b: BudgetLine) => (b.limitAmount > 0 ? b.usedAmount / b.limitAmount : Number.POSITIVE_INFINITY);
    return lines.sort((a, b) => share(b) - share(a)).slice(0, options.topBudgets ?? 20);
  }

  async function alerts(): Promise<AlertLine[]> {
    const { data } = await admin.call<{ data: AlertLine[] }>('GET', '/alerts', { query: { state: 'firing', limit: '50' } });
    return data.map(({ severity, name, summary, firstSeenAt }) => ({ severity, name, summary, firstSeenAt: new Date(firstSeenAt).toISOString() }));
  }

  return {
    async snapshot(nowMs) {
      const [t, s, b, a] = await Promise.all([section(() => traffic(nowMs)), section(() => spend(nowMs)), section(budgets), section(alerts)]);
      return { gateway: sources.gateway, org: org?.name ?? null, atMs: nowMs, traffic: t, spend: s, budgets: b, alerts: a };
    },
  };
}
