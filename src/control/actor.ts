// Who is making a control-plane change: an admin key, a JWT subject, a Tollgate key signed into
// the console's self-service view, or the CLI working on the database directly. Services record it
// in the audit log; the admin API derives reach from it.
import type { Permission } from '../admin/rbac.js';

export const roles = ['admin', 'manager', 'analyst', 'developer', 'viewer'] as const;
export type Role = (typeof roles)[number];

export interface Actor {
  readonly type: 'admin_key' | 'jwt' | 'api_key' | 'cli';
  // Admin key id, JWT subject, or the operating-system user for the CLI.
  readonly id: string;
  readonly role: Role;
  // The Tollgate user the actor acts as; managers and developers reach nothing without one.
  readonly userId: string | null;
  // The org a JWT's org claim confines an actor to when its subject is no Tollgate user.
  readonly orgId?: string | null | undefined;
  // When set, the only permissions the actor may use, whatever its role grants (a data-plane key
  // in the console reads and asks as its user, but never writes keys or budgets).
  readonly permissions?: ReadonlySet<Permission> | undefined;
}

// What a change is attributed to in the audit log.
export interface ChangeContext {
  readonly actor: Actor;
  readonly requestId: string;
}
