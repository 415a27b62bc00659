// The audit log: one row per admin mutation (who, what, before, after, when, request id), written
// in the mutation's own transaction so a change and its record commit together. Callers pass
// public views of rows; `redact` is the last guard that no key material is ever stored.
import { and, desc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { auditLog } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import type { ChangeContext } from './actor.js';
import { toCsv } from './csv.js';
import type { Visibility } from './visibility.js';

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId: string;
  orgId: string | null;
  before: object | null;
  after: object | null;
}

const secretFields = new Set(['key', 'hash', 'secret', 'token', 'password']);

function redact(value: object | null): Record<string, unknown> | null {
  if (!value) return null;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !secretFields.has(k)));
}

export async function recordAudit(db: Db, change: ChangeContext, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    requestId: change.requestId,
    actorType: change.actor.type,
    actorId: change.actor.id,
    actorRole: change.actor.role,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    orgId: entry.orgId,
    // JSON round trip: dates become ISO strings, as they will read back from jsonb.
    before: JSON.parse(JSON.stringify(redact(entry.before))) as Record<string, unknown> | null,
    after: JSON.parse(JSON.stringify(redact(entry.after))) as Record<string, unknown> | null,
  });
}

export interface AuditQuery {
  action?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  actorId?: string | undefined;
  orgId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  // Entries are returned newest first; the cursor is the id of the last entry of the previous page.
  cursor?: number | undefined;
  limit: number;
}

export type AuditRow = typeof auditLog.$inferSelect;

// Audit is granted only with org-wide reach (src/admin/rbac.ts), so the org is the one limit that
// applies; entries without an org (admin keys, templates) are for callers who see every org.
export async function listAudit(db: Db, visible: Visibility, q: AuditQuery): Promise<{ data: AuditRow[]; nextCursor: number | null }> {
  const where: SQL[] = [];
  if (visible.orgId) where.push(eq(auditLog.orgId, visible.orgId));
  if (visible.teamIds || visible.userId) where.push(sql`false`);
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.resourceType) where.push(eq(auditLog.resourceType, q.resourceType));
  if (q.resourceId) where.push(eq(auditLog.resourceId, q.resourceId));
  if (q.actorId) where.push(eq(auditLog.actorId, q.actorId));
  if (q.orgId) where.push(eq(auditLog.orgId, q.orgId));
  if (q.since) where.push(gte(auditLog.at, q.since));
  if (q.until) where.push(lte(auditLog.at, q.until));
  if (q.cursor !== undefined) where.push(lt(auditLog.id, q.cursor));
  const rows = await db.select().from(auditLog).where(and(...where)).orderBy(desc(auditLog.id)).limit(q.limit + 1);
  const data = rows.slice(0, q.limit);
  return { data, nextCursor: rows.length > q.limit ? data.at(-1)!.id : null };
}

const auditColumns = ['id', 'at', 'requestId', 'actorType', 'actorId', 'actorRole', 'action', 'resourceType', 'resourceId', 'orgId', 'before', 'after'] as const;

export const auditToCsv = (rows: readonly AuditRow[]): string => toCsv(auditColumns, rows);
