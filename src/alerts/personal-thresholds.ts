// Personal budget alerts: a user sets their own thresholds (e.g. 50% and 75%) and email with their
// Tollgate key (PUT /v1/alerts/preferences), and hears, by email through the outbox, when a budget
// that applies to that key passes one. The evaluator reads the same counters enforcement uses
// (one Redis read per user per evaluation, as GET /v1/usage does), so a crossing is seen within
// one evaluation interval without touching settle. A notice is sent once per user, counter window
// and threshold: its row's primary key decides, in the transaction that enqueues it. When several
// thresholds pass at once, only the highest is sent. Minute, session and rate windows are left out:
// they roll over too fast for email.
import { and, eq, isNotNull, lt } from 'drizzle-orm';
import { z } from 'zod';
import { alertPreferences, personalAlertNotices } from '../../drizzle/schema/alert-preferences.js';
import { alertChannels } from '../../drizzle/schema/index.js';
import { loadPrincipals } from '../auth/principal-loader.js';
import type { Principal } from '../auth/principal.js';
import { newId } from '../auth/keys.js';
import type { BucketPlan } from '../budget/store.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { CounterReading } from '../metering/usage-status.js';
import { personalChannelName, sendOnce, type DirectNotice } from './direct-notice.js';
import type { AlertRule } from './source.js';

const watchedWindows = new Set(['hour', 'day', 'month', 'total']);
// Principals are reloaded this often: a key revoked or moved to another team is noticed then.
const principalTtlMs = 60_000;
// Fingerprints known to be sent, kept to skip their insert; cleared when this many.
const maxRemembered = 100_000;

export interface BudgetReader {
  plan(principal: Principal, sessionId: string | null, nowMs: number): readonly BucketPlan[];
  readCounters(orgId: string, keys: readonly string[]): Promise<readonly CounterReading[]>;
}

export const preferencesSchema = (maxThresholds: number) =>
  z.strictObject({
    email: z.email(),
    // Percent of each budget's limit; an empty list turns personal alerts off.
    thresholds: z.array(z.number().int().min(1).max(100)).max(maxThresholds).refine((t) => new Set(t).size === t.length, 'thresholds must not repeat'),
  });

export interface PreferencesView {
  readonly object: 'alert_preferences';
  readonly user_id: string;
  readonly email: string | null;
  readonly thresholds: readonly number[];
  readonly key_id: string | null;
}

const view = (userId: string, row?: typeof alertPreferences.$inferSelect): PreferencesView => ({
  object: 'alert_preferences',
  user_id: userId,
  email: row?.email ?? null,
  thresholds: row?.thresholdsPercent ?? [],
  key_id: row?.keyId ?? null,
});

export async function getPreferences(db: Db, principal: Principal): Promise<PreferencesView> {
  const [row] = await db.select().from(alertPreferences).where(eq(alertPreferences.userId, principal.userId));
  return view(principal.userId, row);
}

export async function putPreferences(db: Db, principal: Principal, body: unknown, maxThresholds: number): Promise<PreferencesView> {
  const parsed = preferencesSchema(maxThresholds).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    throw new GatewayError('invalid_request', param ? `${param}: ${issue.message}` : issue.message, param);
  }
  const { email } = parsed.data;
  const thresholds = [...parsed.data.thresholds].sort((a, b) => a - b);
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(alertPreferences).where(eq(alertPreferences.userId, principal.userId)).for('update');
    if (thresholds.length === 0) {
      if (existing) {
        await tx.delete(alertPreferences).where(eq(alertPreferences.userId, principal.userId));
        await tx.delete(alertChannels).where(eq(alertChannels.id, existing.channelId));
      }
      return view(principal.userId);
    }
    // Theirs from earlier preferences, or the one a notice to their account's email made.
    let channelId = existing?.channelId ?? (await tx.select({ id: alertChannels.id }).from(alertChannels).where(and(eq(alertChannels.orgId, principal.orgId), eq(alertChannels.name, personalChannelName(principal.userId)))))[0]?.id;
    if (channelId) await tx.update(alertChannels).set({ settings: { to: [email] }, updatedAt: new Date() }).where(eq(alertChannels.id, channelId));
    else {
      channelId = newId('ch');
      await tx.insert(alertChannels).values({ id: channelId, orgId: principal.orgId, name: personalChannelName(principal.userId), type: 'email', settings: { to: [email] } });
    }
    const values = { orgId: principal.orgId, keyId: principal.keyId, email, thresholdsPercent: thresholds, channelId, updatedAt: new Date() };
    const [row] = await tx
      .insert(alertPreferences)
      .values({ userId: principal.userId, ...values })
      .onConflictDoUpdate({ target: alertPreferences.userId, set: values })
      .returning();
    return view(principal.userId, row);
  });
}

const windowWords: Record<string, string> = { hour: 'hourly', day: 'daily', month: 'monthly', total: 'total' };

function thresholdNotice(fingerprint: string, principal: Principal, bucket: BucketPlan, used: number, threshold: number): DirectNotice {
  const { scope, scopeId, metric, window } = bucket.ref;
  const percent = Math.floor((used * 100) / bucket.limit);
  return {
    fingerprint,
    source: 'personal',
    name: 'budget.personal_threshold',
    severity: threshold >= 90 ? 'high' : 'medium',
    summary: `Your ${windowWords[window] ?? window} ${metric} budget (${scope} ${scopeId}) passed your ${threshold}% alert: ${used} of ${bucket.limit} (${percent}%).`,
    orgId: principal.orgId,
    teamId: scope === 'team' ? scopeId : null,
    userId: principal.userId,
    figures: {
      threshold, percent, used, limit: bucket.limit, metric, window, scope, scopeId,
      ...(bucket.resetAtMs === null ? {} : { resetsAt: new Date(bucket.resetAtMs).toISOString() }),
    },
  };
}

export interface PersonalThresholdsOptions {
  readonly db: Db;
  readonly budgets: BudgetReader;
  readonly maxUsers: number;
}

// An alert rule in form only: its notices go to one user's own channel, not through the routes
// every alert follows, so it writes them itself and reports no shared alerts.
export function personalThresholdsRule(options: PersonalThresholdsOptions): AlertRule {
  const { db, budgets } = options;
  const principals = new Map<string, { principal: Principal | undefined; atMs: number }>();
  const sent = new Set<string>();

  async function principalOf(keyId: string, nowMs: number): Promise<Principal | undefined> {
    const cached = principals.get(keyId);
    if (cached && nowMs - cached.atMs < principalTtlMs) return cached.principal;
    const [loaded] = await loadPrincipals(db, { kind: 'key', id: keyId });
    principals.set(keyId, { principal: loaded?.principal, atMs: nowMs });
    return loaded?.principal;
  }

  async function notify(prefs: typeof alertPreferences.$inferSelect, principal: Principal, nowMs: number): Promise<void> {
    const buckets = budgets.plan(principal, null, nowMs).filter((b) => b.kind === 'counter' && b.measure !== 'inflight' && b.limit > 0 && watchedWindows.has(b.ref.window));
    if (buckets.length === 0) return;
    const readings = await budgets.readCounters(principal.orgId, buckets.map((b) => b.key));
    for (const [i, bucket] of buckets.entries()) {
      const used = readings[i]?.used ?? 0;
      const passed = prefs.thresholdsPercent.filter((t) => used * 100 >= t * bucket.limit);
      const fresh = passed.map((t) => ({ threshold: t, fingerprint: `personal:${prefs.userId}:${bucket.key}:${t}` })).filter((p) => !sent.has(p.fingerprint));
      if (fresh.length === 0) continue;
      const send = { userId: prefs.userId, channelId: prefs.channelId, marks: fresh.map((p) => p.fingerprint), expiresAtMs: bucket.resetAtMs, nowMs };
      await db.transaction((tx) =>
        sendOnce(tx, send, (marked) => {
          const highest = fresh.filter((p) => marked.includes(p.fingerprint)).at(-1);
          return highest && thresholdNotice(highest.fingerprint, principal, bucket, used, highest.threshold);
        }),
      );
      if (sent.size + fresh.length > maxRemembered) sent.clear();
      for (const p of fresh) sent.add(p.fingerprint);
    }
  }

  return {
    name: 'personal.thresholds',
    async evaluate(nowMs) {
      await db.delete(personalAlertNotices).where(and(isNotNull(personalAlertNotices.expiresAt), lt(personalAlertNotices.expiresAt, new Date(nowMs))));
      const all = await db.select().from(alertPreferences).orderBy(alertPreferences.updatedAt).limit(options.maxUsers);
      for (const prefs of all) {
        const principal = await principalOf(prefs.keyId, nowMs);
        if (!principal || principal.revoked || !principal.userActive || (principal.expiresAtMs !== null && principal.expiresAtMs <= nowMs)) continue;
        await notify(prefs, principal, nowMs);
      }
      return [];
    },
  };
}
