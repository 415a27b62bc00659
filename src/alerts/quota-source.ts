// Quota requests as alerts. Filing one raises `quota.requested` (source `quota`) in the requester's
// org, team and user, so routes with source quota (for that team, say) reach whoever decides for
// it; the decision resolves it, with the decider and the outcome merged into its figures, so the
// deciders' channels get the resolved notice and the requester hears of it on their own email
// channel when they have one (personal alert preferences).
import { eq } from 'drizzle-orm';
import { alertPreferences } from '../../drizzle/schema/alert-preferences.js';
import type { QuotaRequest } from '../control/quota-requests.js';
import type { Db } from '../db/database.js';
import type { AlertInput, AlertSink } from './source.js';

export const quotaFingerprint = (requestId: string): string => `quota:${requestId}`;

export function quotaRequestAlert(request: QuotaRequest, requester: { name: string; teamId: string | null }): AlertInput {
  return {
    fingerprint: quotaFingerprint(request.id),
    source: 'quota',
    name: 'quota.requested',
    severity: 'low',
    summary: `${requester.name} asks for ${request.amount} more on budget ${request.budgetId}: ${request.justification}`.slice(0, 500),
    orgId: request.orgId,
    teamId: requester.teamId,
    userId: request.userId,
    figures: { requestId: request.id, budgetId: request.budgetId, amount: request.amount, justification: request.justification },
  };
}

export async function quotaDecided(db: Db, sink: AlertSink, request: QuotaRequest): Promise<void> {
  const [own] = await db.select({ channelId: alertPreferences.channelId }).from(alertPreferences).where(eq(alertPreferences.userId, request.userId));
  await sink.clear(quotaFingerprint(request.id), request.decidedAt?.getTime(), {
    by: request.decidedBy ?? undefined,
    figures: { status: request.status, ...(request.reason ? { reason: request.reason } : {}) },
    ...(own ? { alsoNotify: [own.channelId] } : {}),
  });
}
