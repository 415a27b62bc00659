// The caller as the hot path sees it: everything needed to route and meter a request, resolved
// from Postgres ahead of time so authentication is one Map lookup.
export interface Principal {
  readonly keyId: string;
  readonly orgId: string;
  readonly userId: string;
  // The user's own team first, then each parent up to the root; every one of them is charged.
  readonly teamIds: readonly string[];
  // Catalog model names the key may call; null means all.
  readonly allowedModels: ReadonlySet<string> | null;
  // Endpoint families (src/server/families.ts) the key may call; null means all.
  readonly scopes: ReadonlySet<string> | null;
  readonly expiresAtMs: number | null;
  readonly revoked: boolean;
  readonly userActive: boolean;
}
