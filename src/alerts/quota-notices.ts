// Quota requests as notices. A pending request is an alert (source `quota`, the requester's org
// and team) that routes deliver to whoever decides them, e.g. a route with source `quota` and the
// team to its managers' channel; the decision clears it, so they also get the resolved notice.
// The requester hears the decision by email on their own channel (direct-notice.ts), once. Read
// from quota_requests by the evaluator, so the control plane's transactions stay as they are and
// a notice lags the filing or decision by one evaluation interval at most.
import { and, eq, gt, or, sql } from 'drizzle-orm';
import { budgets, quotaRequests, users } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import { sendOnce, userChannel } from './direct-notice.js';
import type { AlertInput, AlertRule } from './source.js';

// Decisions older than this are not looked at again (their notices went out long ago).
const decidedLookbackMs = 24 * 3_600_000;
// Requests one evaluation reads: a backlog larger than this is worked through over several.
const maxPerEvaluation = 1_000;

type Row = Awaited<ReturnType<typeof load>>[number];

function load(db: Db, nowMs: number) {
  return db
    .select({ request: quotaRequests, user: { id: users.id, name: users.name, orgId: users.orgId, teamId: users.teamId, email: users.email }, budget: { scope: budgets.scope, scopeId: budgets.scopeId, metric: budgets.metric, window: budgets.window, limit: budgets.limit } })
    .from(quotaRequests)
    .innerJoin(users, eq(users.id, quotaRequests.userId))
    .innerJoin(budgets, eq(budgets.id, quotaRequests.budgetId))
    .where(or(eq(quotaRequests.status, 'pending'), and(sql`${quotaRequests.decidedAt} is not null`, gt(quotaRequests.decidedAt, new Date(nowMs - decidedLookbackMs)))))
    .orderBy(quotaRequests.createdAt)
    .limit(maxPerEvaluation);
}

const budgetWords = ({ budget }: Row): string => `${budget.metric}/${budget.window} budget of ${budget.scope} ${budget.scopeId}`;

export function quotaRequestAlert(row: Row): AlertInput {
  const { request, user } = row;
  return {
    fingerprint: `quota:${request.id}`,
    source: 'quota',
    name: 'quota.requested',
    severity: 'medium',
    summary: `${user.name} asks for ${request.amount} more on the ${budgetWords(row)} (limit ${row.budget.limit}): ${request.justification}`,
    orgId: request.orgId,
    teamId: user.teamId,
    userId: user.id,
    figures: { requestId: request.id, budgetId: request.budgetId, amount: request.amount, limit: row.budget.limit, requester: user.name, justification: request.justification },
  };
}

async function tellRequester(db: Db, row: Row, nowMs: number): Promise<void> {
  const { request, user } = row;
  const fingerprint = `quota:${request.id}:${request.status}`;
  await db.transaction(async (tx) => {
    const channelId = await userChannel(tx, user);
    if (!channelId) return;
    const approved = request.status === 'approved';
    await sendOnce(tx, { userId: user.id, channelId, marks: [fingerprint], expiresAtMs: null, nowMs }, () => ({
      fingerprint,
      source: 'quota',
      name: approved ? 'quota.approved' : 'quota.denied',
      severity: 'low',
      summary: approved
        ? `Your request for ${request.amount} more on the ${budgetWords(row)} was approved by ${request.decidedBy}; the limit is now ${row.budget.limit}.`
        : `Your request for ${request.amount} more on the ${budgetWords(row)} was denied by ${request.decidedBy}: ${request.reason}`,
      orgId: request.orgId,
      teamId: user.teamId,
      userId: user.id,
      figures: { requestId: request.id, status: request.status, amount: request.amount, limit: row.budget.limit, decidedBy: request.decidedBy, reason: request.reason },
    }));
  });
}

export function quotaRequestsRule(db: Db): AlertRule {
  // Requests whose requester was told, so later evaluations skip the transaction.
  const told = new Set<string>();
  return {
    name: 'quota.requests',
    async evaluate(nowMs) {
      const rows = await load(db, nowMs);
      for (const row of rows) {
        if (row.request.status === 'pending' || told.has(row.request.id)) continue;
        await tellRequester(db, row, nowMs);
        told.add(row.request.id);
      }
      if (told.size > maxPerEvaluation * 10) told.clear();
      return rows.map((row) => ({ input: quotaRequestAlert(row), firing: row.request.status === 'pending' }));
    },
  };
}
