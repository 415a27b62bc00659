// An org's analysis cut down to what a caller of limited reach may see: a manager keeps the teams
// below them and their users and keys, a developer their own user and keys. Org-wide lines (org
// budgets, per-model anomalies and recommendations, budgets as a whole) need org-wide reach.
import { eq } from 'drizzle-orm';
import { apiKeys, users } from '../../drizzle/schema/index.js';
import type { Visibility } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import type { Analysis } from './analyse.js';

export async function visibleAnalysis(db: Db, analysis: Analysis, visibility: Visibility): Promise<Analysis> {
  if (visibility.teamIds === null && visibility.userId === null) return analysis;
  const [userRows, keyRows] = await Promise.all([
    db.select({ id: users.id, teamId: users.teamId }).from(users).where(eq(users.orgId, analysis.orgId)),
    db.select({ id: apiKeys.id, userId: apiKeys.userId }).from(apiKeys).where(eq(apiKeys.orgId, analysis.orgId)),
  ]);
  const teams = new Set(visibility.teamIds ?? []);
  const visibleUsers = new Set(userRows.filter((u) => u.id === visibility.userId || (u.teamId !== null && teams.has(u.teamId))).map((u) => u.id));
  const visibleKeys = new Set(keyRows.filter((k) => visibleUsers.has(k.userId)).map((k) => k.id));
  const sees = (type: string, id: string) => (type === 'team' ? teams.has(id) : type === 'user' ? visibleUsers.has(id) : type === 'key' ? visibleKeys.has(id) : false);
  return {
    ...analysis,
    ...(analysis.forecasts && { forecasts: analysis.forecasts.filter((f) => sees(f.scope, f.subjectId)) }),
    ...(analysis.anomalies && { anomalies: analysis.anomalies.filter((a) => sees(a.scope, a.scopeId)) }),
    ...(analysis.recommendations && { recommendations: analysis.recommendations.filter((r) => sees(r.subject.type, r.subject.id)) }),
  };
}
