// System health as alert rules. The fleet rule reads every replica's published counters (see
// health-snapshot.ts) over the configured window: upstream error rate and p99 time to first byte
// per provider, a spike of 429s, spend per window, usage flush lag (the shared streams' oldest
// unwritten event, as any flusher measures it) and a saturated tokenizer queue on any replica. The
// store rule pings Redis and Postgres from the evaluating replica: a store down for the whole
// fleet is seen there too; a cut that only another replica suffers shows up in that replica's
// /ready, not here.
import type { ReadinessCheck } from '../server/gateway.js';
import type { HealthSnapshot, FleetSnapshots } from './health-snapshot.js';
import { createHealthWindow, quantileMs } from './health-window.js';
import type { AlertRulesConfig } from './rules-config.js';
import type { AlertInput, AlertRule } from './source.js';

type Finding = { readonly input: AlertInput; readonly firing: boolean };
type HealthConfig = AlertRulesConfig['health'];

const health = (fingerprint: string, name: string, severity: AlertInput['severity'], summary: string, figures: Record<string, unknown>): AlertInput => ({
  fingerprint: `health:${fingerprint}`,
  source: 'health',
  name: `health.${name}`,
  severity,
  summary,
  figures,
});

const percent = (part: number, whole: number): number => (whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10);
const minutes = (ms: number): string => `${Math.round(ms / 6_000) / 10} min`;

// The settings are read at every evaluation, so a change through the admin API applies at the next
// one; a new window length starts a new window.
export function fleetHealthRule(snapshots: FleetSnapshots, settings: () => HealthConfig): AlertRule {
  let window = createHealthWindow(settings().windowMs);
  let windowMs = settings().windowMs;
  return {
    name: 'health.fleet',
    async evaluate(nowMs) {
      const config = settings();
      if (config.windowMs !== windowMs) {
        windowMs = config.windowMs;
        window = createHealthWindow(windowMs);
      }
      const latest = await snapshots.read(nowMs);
      window.add(latest, nowMs);
      const totals = window.totals();
      const over = `over the last ${minutes(Math.max(totals.spanMs, 1))}`;
      const findings: Finding[] = [];
      for (const [provider, counts] of Object.entries(totals.providers)) {
        const rate = counts.requests === 0 ? 0 : counts.errors / counts.requests;
        findings.push({
          firing: counts.requests >= config.minRequests && rate >= config.errorRate,
          input: health(`upstream_error_rate:${provider}`, 'upstream_error_rate', 'high', `${percent(counts.errors, counts.requests)}% of ${provider} requests failed with a 5xx ${over} (${counts.errors} of ${counts.requests}).`, {
            provider, errors: counts.errors, requests: counts.requests, errorPercent: percent(counts.errors, counts.requests), thresholdPercent: config.errorRate * 100, windowMs: config.windowMs,
          }),
        });
        const p99Ms = quantileMs(counts, 0.99);
        findings.push({
          firing: counts.answers >= config.minRequests && p99Ms >= config.p99LatencyMs,
          input: health(`p99_latency:${provider}`, 'p99_latency', 'medium', `${provider} p99 time to first byte is ${Number.isFinite(p99Ms) ? `${p99Ms} ms` : 'past the largest bucket'} ${over} (${counts.answers} answers).`, {
            provider, p99Ms: Number.isFinite(p99Ms) ? p99Ms : null, thresholdMs: config.p99LatencyMs, answers: counts.answers, windowMs: config.windowMs,
          }),
        });
      }
      findings.push({
        firing: totals.rateLimited >= config.rateLimitedMin && totals.rateLimited >= config.rateLimitedShare * totals.requests,
        input: health('rate_limited_spike', 'rate_limited_spike', 'medium', `${totals.rateLimited} requests were answered 429 ${over} (${percent(totals.rateLimited, totals.requests)}% of ${totals.requests}).`, {
          rateLimited: totals.rateLimited, requests: totals.requests, thresholdCount: config.rateLimitedMin, thresholdPercent: config.rateLimitedShare * 100, windowMs: config.windowMs,
        }),
      });
      // Reported without a threshold too, so removing the threshold clears an alert it raised.
      const spendLimit = config.spendMicrosPerWindow;
      findings.push({
        firing: spendLimit !== undefined && totals.costMicros >= spendLimit,
        input: health('spend_rate', 'spend_rate', 'high', `Spend reached ${totals.costMicros / 1e6} USD ${over} (threshold ${spendLimit === undefined ? 'none' : `${spendLimit / 1e6} USD`} per ${minutes(config.windowMs)}).`, {
          costMicros: totals.costMicros, thresholdMicros: spendLimit ?? null, windowMs: config.windowMs,
        }),
      });
      findings.push(...instantFindings(latest, config));
      return findings;
    },
  };
}

// Conditions read as they are now rather than over the window.
function instantFindings(latest: readonly HealthSnapshot[], config: HealthConfig): Finding[] {
  const findings: Finding[] = [];
  const lags = latest.flatMap((s) => (s.usageLagMs === undefined ? [] : [s.usageLagMs]));
  if (lags.length > 0) {
    const lagMs = Math.max(...lags);
    findings.push({
      firing: lagMs >= config.flushLagMs,
      input: health('usage_flush_lag', 'usage_flush_lag', 'high', `The usage ledger is ${Math.round(lagMs / 1000)} s behind: events wait in Redis for Postgres.`, { lagMs, thresholdMs: config.flushLagMs }),
    });
  }
  const saturated = latest.filter((s) => s.tokenizerMaxQueue > 0 && s.tokenizerQueued >= config.tokenizerQueueRatio * s.tokenizerMaxQueue);
  findings.push({
    firing: saturated.length > 0,
    input: health('tokenizer_queue', 'tokenizer_queue_saturated', 'high', `The tokenizer queue is nearly full on ${saturated.length} replica(s); requests that need a count are refused when it is full.`, {
      replicas: saturated.map((s) => ({ replica: s.replica, queued: s.tokenizerQueued, maxQueue: s.tokenizerMaxQueue })),
      thresholdPercent: config.tokenizerQueueRatio * 100,
    }),
  });
  return findings;
}

export function storeHealthRule(checks: readonly ReadinessCheck[], timeoutMs: number): AlertRule {
  return {
    name: 'health.stores',
    async evaluate() {
      return Promise.all(
        checks.map(async (check) => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)));
          const error = await Promise.race([check.check(), timeout]).then(
            () => undefined,
            (err: unknown) => (err as Error).message,
          );
          clearTimeout(timer);
          return {
            firing: error !== undefined,
            input: health(`unreachable:${check.name}`, 'store_unreachable', 'critical', `${check.name} is unreachable from the evaluating replica: ${error ?? 'answers again'}.`, { store: check.name, error: error ?? null }),
          };
        }),
      );
    },
  };
}
