// Notices addressed to one user rather than routed (their personal budget thresholds, the answer
// to their quota request): sent through the outbox to the user's own email channel, once per
// fingerprint, decided by the personal_alert_notices primary key in the transaction that enqueues.
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { alertPreferences, personalAlertNotices } from '../../drizzle/schema/alert-preferences.js';
import { alertChannels } from '../../drizzle/schema/index.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import type { Severity } from './config.js';
import { enqueue } from './outbox.js';
import type { NotificationPayload } from './payload.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export const personalChannelName = (userId: string): string => `personal email of ${userId}`;

// The user's own email channel: the one their alert preferences made, else one for their
// account's email (made now); undefined when they have neither.
export async function userChannel(tx: Db | Tx, user: { id: string; orgId: string; email: string | null }): Promise<string | undefined> {
  const [prefs] = await tx.select({ channelId: alertPreferences.channelId }).from(alertPreferences).where(eq(alertPreferences.userId, user.id));
  if (prefs) return prefs.channelId;
  if (!user.email) return undefined;
  const name = personalChannelName(user.id);
  const [existing] = await tx.select({ id: alertChannels.id }).from(alertChannels).where(and(eq(alertChannels.orgId, user.orgId), eq(alertChannels.name, name)));
  if (existing) return existing.id;
  const id = newId('ch');
  await tx.insert(alertChannels).values({ id, orgId: user.orgId, name, type: 'email', settings: { to: [user.email] } });
  return id;
}

export interface DirectNotice {
  readonly fingerprint: string;
  readonly name: string;
  readonly source: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly orgId: string;
  readonly teamId: string | null;
  readonly userId: string;
  readonly figures: Record<string, unknown>;
}

export function directPayload(notice: DirectNotice, nowMs: number): NotificationPayload {
  const at = new Date(nowMs).toISOString();
  return {
    type: 'alert.firing',
    timestamp: at,
    data: {
      // Stable per notice, so a receiver can tell a resend.
      id: `pn_${createHash('sha256').update(notice.fingerprint).digest('base64url').slice(0, 20)}`,
      fingerprint: notice.fingerprint,
      source: notice.source,
      name: notice.name,
      severity: notice.severity,
      state: 'firing',
      summary: notice.summary,
      orgId: notice.orgId,
      teamId: notice.teamId,
      userId: notice.userId,
      figures: notice.figures,
      firstSeenAt: at,
      lastSeenAt: at,
      ackedBy: null,
      resolvedAt: null,
      resolvedBy: null,
      escalationStep: 0,
    },
  };
}

export interface SendOnce {
  readonly userId: string;
  readonly channelId: string;
  // Fingerprints to mark sent; the notice is built from those this call marked first.
  readonly marks: readonly string[];
  // Past this the marks are no longer needed to dedupe (a budget window's end); null: kept.
  readonly expiresAtMs: number | null;
  readonly nowMs: number;
}

// Marks the fingerprints sent and enqueues the notice `choose` builds from those not marked
// before (by another replica or an earlier evaluation); nothing when all were.
export async function sendOnce(tx: Tx, send: SendOnce, choose: (marked: readonly string[]) => DirectNotice | undefined): Promise<void> {
  if (send.marks.length === 0) return;
  const inserted = await tx
    .insert(personalAlertNotices)
    .values(send.marks.map((fingerprint) => ({ fingerprint, userId: send.userId, at: new Date(send.nowMs), expiresAt: send.expiresAtMs === null ? null : new Date(send.expiresAtMs) })))
    .onConflictDoNothing()
    .returning({ fingerprint: personalAlertNotices.fingerprint });
  const notice = inserted.length > 0 ? choose(inserted.map((r) => r.fingerprint)) : undefined;
  if (notice) await enqueue(tx, null, [send.channelId], 'firing', directPayload(notice, send.nowMs), send.nowMs);
}
