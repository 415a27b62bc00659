// The `budget:` section of the config: budget rules, rate and concurrency limits, and the engine's
// policies (clamp, failure mode, lease length). The same shapes are read from Postgres once the
// control plane serves them (drizzle/schema/budgets.ts mirrors budgetRuleSchema).
import { z } from 'zod';
import { isValidTimeZone } from './windows.js';

export const budgetScopes = ['key', 'user', 'team', 'org'] as const;
export const budgetMetrics = ['tokens', 'costMicros', 'requests'] as const;
export const budgetWindows = ['minute', 'hour', 'day', 'month', 'total', 'session'] as const;

export type BudgetScope = (typeof budgetScopes)[number];
export type BudgetMetric = (typeof budgetMetrics)[number];
export type BudgetWindow = (typeof budgetWindows)[number];

const positiveInt = z.number().int().positive();
const percent = z.number().int().min(1).max(100);

// scopeId '*' gives every key (user, team, org) its own bucket with this rule; a rule naming the
// id itself replaces the '*' rule of the same scope, metric and window for that id.
const scopeId = z.string().min(1);
// The org a rule belongs to: control-plane rows always carry theirs, and apply to that org only
// (its '*' rule replaces the unscoped default of the same scope, metric and window). Config rules
// usually leave it unset: they are the defaults of every org.
const orgId = z.string().min(1).optional();

export const budgetRuleSchema = z
  .object({
    orgId,
    scope: z.enum(budgetScopes),
    scopeId,
    metric: z.enum(budgetMetrics),
    window: z.enum(budgetWindows),
    // tokens, integer micro-USD or requests, per the metric.
    limit: z.number().int().nonnegative(),
    warnPct: percent.default(80),
    criticalPct: percent.default(95),
    timezone: z.string().default('UTC').refine(isValidTimeZone, { message: 'must be an IANA time zone such as Europe/Paris' }),
    // Lower max_tokens to what remains instead of refusing; unset inherits budget.clamp.
    clamp: z.boolean().optional(),
    // Session budgets count only requests that send x-session-id; with this set, a request of a
    // principal the rule applies to that sends none is refused (400 session_required) instead.
    requireSession: z.boolean().optional(),
  })
  .refine((r) => r.window !== 'session' || r.scope === 'key' || r.scope === 'user', {
    message: 'window session applies only to scope key or user',
    path: ['window'],
  })
  .refine((r) => !r.requireSession || r.window === 'session', { message: 'requireSession applies only to window session', path: ['requireSession'] })
  .refine((r) => r.warnPct <= r.criticalPct, { message: 'warnPct must not exceed criticalPct', path: ['warnPct'] });

// Smooth per-minute rates (GCRA) and in-flight caps for a key, a user, a team (shared by its
// members and sub-teams, as team budgets are) or a whole org.
export const limitRuleSchema = z
  .object({
    orgId,
    scope: z.enum(budgetScopes),
    scopeId,
    rpm: positiveInt.optional(),
    tpm: positiveInt.optional(),
    concurrency: positiveInt.optional(),
  })
  .refine((r) => r.rpm !== undefined || r.tpm !== undefined || r.concurrency !== undefined, {
    message: 'set at least one of rpm, tpm, concurrency',
  });

const uniqueBy = <T>(items: readonly T[], key: (item: T) => string, ctx: z.RefinementCtx, path: string, what: string): void => {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicates ${path}[${first}] (same ${what})` });
    else seen.set(k, i);
  });
};

export const budgetConfigSchema = z
  .object({
    // Global default for rules without their own clamp setting.
    clamp: z.boolean().default(false),
    // A clamp that would leave fewer output tokens than this refuses the request instead.
    minOutputTokens: positiveInt.default(16),
    // Redis unreachable: 'closed' answers 503 budget_unavailable; 'open' serves the request and
    // hands its usage to the fallback sink for reconciliation.
    failureMode: z.enum(['closed', 'open']).default('closed'),
    // A reservation not settled or renewed within this time is returned by the reaper.
    leaseMs: positiveInt.default(60_000),
    reaperIntervalMs: positiveInt.default(5_000),
    // Settled and reaped reservation records are kept this long, so a retried settle stays a no-op
    // and a settle arriving after the reaper is charged once. Later settles only append the event
    // (the ledger dedupes by request id). Memory: one short string per request in this period.
    recordRetentionMs: positiveInt.default(600_000),
    // Settles, and the usage events of requests no budget applies to, share one Redis call per org:
    // those finishing in the same event-loop turn (0), or within this many ms. Under load one turn
    // already gathers many; measured (bench/proxy), a timer window saved no CPU and its late
    // settles delayed the next requests' reserves on the shared connection. A crash loses at most
    // this window's settles, as it loses the requests in flight (the reaper returns those).
    batchWindowMs: z.number().int().min(0).max(1_000).default(0),
    // Usage leaving this process (slice flushes with their events, and the events of requests no
    // budget applies to) gathers this long per org before its one Redis call, or until 128 events
    // or about 256 KiB (0: one event-loop turn). A turn gathers a handful of requests at most, so
    // per turn cost 0.07-0.1 calls per request; 20 ms gathers tens. What it costs: a crash
    // (SIGKILL, OOM) loses the usage of the requests that finished in the last window, at most
    // 128 per org, besides those in flight it loses anyway (DESIGN "Replica-local slices").
    usageFlushMs: z.number().int().min(0).max(1_000).default(20),
    // Replica-local slices (src/budget/slices.ts), on the Redis store: a replica takes part of a
    // bucket's free room in one call and admits requests against it in process. A slice covers at
    // least sliceMinRequests requests (else it would not save a call per request) and goes back
    // after sliceIdleMs unused; near a limit requests reserve one by one, exactly.
    slices: z.boolean().default(true),
    sliceIdleMs: positiveInt.default(1_000),
    sliceMinRequests: positiveInt.default(32),
    // How long a finished window's counters outlive it, so late settles still find them.
    windowGraceMs: positiveInt.default(900_000),
    // A session bucket (window 'session') expires after this much idle time.
    sessionIdleMs: positiveInt.default(86_400_000),
    budgets: z.array(budgetRuleSchema).default([]),
    limits: z.array(limitRuleSchema).default([]),
  })
  .superRefine((c, ctx) => {
    uniqueBy(c.budgets, (r) => `${r.orgId ?? ''}\0${r.scope}\0${r.scopeId}\0${r.metric}\0${r.window}`, ctx, 'budgets', 'scope, scopeId, metric and window');
    uniqueBy(c.limits, (r) => `${r.orgId ?? ''}\0${r.scope}\0${r.scopeId}`, ctx, 'limits', 'scope and scopeId');
  });

export type BudgetConfigInput = z.input<typeof budgetConfigSchema>;
export type BudgetConfig = z.output<typeof budgetConfigSchema>;
export type BudgetRule = z.output<typeof budgetRuleSchema>;
export type LimitRule = z.output<typeof limitRuleSchema>;
