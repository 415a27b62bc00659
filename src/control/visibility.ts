// Which rows a caller may see, as plain data the services turn into WHERE clauses. The admin API
// derives it from the caller's role (src/admin/rbac.ts); the services know nothing of roles.
export interface Visibility {
  // null: every org.
  readonly orgId: string | null;
  // null: every team; otherwise only users and resources of these teams.
  readonly teamIds: readonly string[] | null;
  // null: every user; otherwise only this user's own resources.
  readonly userId: string | null;
}

export const everything: Visibility = Object.freeze({ orgId: null, teamIds: null, userId: null });
