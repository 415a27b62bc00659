// How anything that detects a condition talks to alerting: it raises an alert under a fingerprint
// (the same condition always gives the same fingerprint) and clears it when the condition ends.
// Budget crossings (budget-source.ts), failing channels (sender.ts) and health rules all use this
// one interface; the sink dedupes, stores, routes and enqueues the notifications.
import type { Severity } from './config.js';

export interface AlertInput {
  readonly fingerprint: string;
  // budget | delivery | health | user ...
  readonly source: string;
  // Stable per rule, e.g. budget.warning, channel.failing.
  readonly name: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly orgId?: string | null;
  readonly teamId?: string | null;
  readonly userId?: string | null;
  readonly bucketKey?: string | null;
  // Active alerts of one group mute those of a lower rank in it.
  readonly inhibitGroup?: string | null;
  readonly inhibitRank?: number;
  // Numbers the notification shows (used, limit, percent, error rate ...).
  readonly figures?: Readonly<Record<string, unknown>>;
  // The sweep resolves the alert at this instant (a budget window's end); omitted: clear() does.
  readonly endsAtMs?: number | null;
}

export interface RaiseResult {
  readonly alertId: string;
  // false: the fingerprint was already active; only last_seen_at and the figures changed.
  readonly created: boolean;
}

export interface AlertSink {
  raise(input: AlertInput, nowMs?: number): Promise<RaiseResult>;
  // Resolves the active alert of this fingerprint (resolved notices go out); false when none was active.
  clear(fingerprint: string, nowMs?: number): Promise<boolean>;
}

// A condition evaluated periodically (health rules, projected exhaustion): each evaluation returns
// every fingerprint the rule watches with whether it holds now; evaluateRule raises or clears each.
export interface AlertRule {
  readonly name: string;
  evaluate(nowMs: number): Promise<ReadonlyArray<{ readonly input: AlertInput; readonly firing: boolean }>>;
}

export async function evaluateRule(rule: AlertRule, sink: AlertSink, nowMs: number): Promise<void> {
  for (const { input, firing } of await rule.evaluate(nowMs)) {
    if (firing) await sink.raise(input, nowMs);
    else await sink.clear(input.fingerprint, nowMs);
  }
}
