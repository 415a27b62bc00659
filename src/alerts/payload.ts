// What a notification says, fixed when it is enqueued: Standard Webhooks' {type, timestamp, data}
// envelope, which the webhook channel sends as is and the Slack and email channels render.
import type { alerts } from '../../drizzle/schema/index.js';

export type AlertRow = typeof alerts.$inferSelect;
export type NotificationEvent = 'firing' | 'resolved' | 'repeat' | 'escalated' | 'test';

export interface AlertData {
  readonly id: string;
  readonly fingerprint: string;
  readonly source: string;
  readonly name: string;
  readonly severity: string;
  readonly state: string;
  readonly summary: string;
  readonly orgId: string | null;
  readonly teamId: string | null;
  readonly userId: string | null;
  readonly figures: Record<string, unknown>;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly ackedBy: string | null;
  readonly resolvedAt: string | null;
  readonly resolvedBy: string | null;
  readonly escalationStep: number;
}

export interface NotificationPayload {
  readonly type: `alert.${NotificationEvent}`;
  readonly timestamp: string;
  readonly data: AlertData;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function alertPayload(alert: AlertRow, event: NotificationEvent, nowMs: number): NotificationPayload {
  return {
    type: `alert.${event}`,
    timestamp: new Date(nowMs).toISOString(),
    data: {
      id: alert.id,
      fingerprint: alert.fingerprint,
      source: alert.source,
      name: alert.name,
      severity: alert.severity,
      state: alert.state,
      summary: alert.summary,
      orgId: alert.orgId,
      teamId: alert.teamId,
      userId: alert.userId,
      figures: alert.figures,
      firstSeenAt: alert.firstSeenAt.toISOString(),
      lastSeenAt: alert.lastSeenAt.toISOString(),
      ackedBy: alert.ackedBy,
      resolvedAt: iso(alert.resolvedAt),
      resolvedBy: alert.resolvedBy,
      escalationStep: alert.escalationStep,
    },
  };
}

// A one-line title every channel uses: "[CRITICAL] firing: Budget exhausted for team t_1 ...".
export function headline(payload: NotificationPayload): string {
  const what = payload.type.slice('alert.'.length);
  return `[${payload.data.severity.toUpperCase()}] ${what}: ${payload.data.summary}`;
}
