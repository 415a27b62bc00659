// The limits on keys a user mints for themselves. Admins and managers set a policy on the user;
// a caller who may only manage their own keys (a developer) gets keys inside it: what they leave
// out is taken from the policy, what they ask beyond it is refused naming the field. Such a
// caller may never change a key's limits afterwards: only whoever set them may lift them.
import type { KeyPolicy } from '../../drizzle/schema/index.js';
import { GatewayError } from '../errors/catalogue.js';
import type { KeyAttributes } from './keys.js';

export type { KeyPolicy };

export const limitFields = ['allowedModels', 'expiresAt', 'scopes'] as const;

const noPolicy: KeyPolicy = { allowedModels: null, maxLifetimeDays: null, scopes: null };

const beyond = (field: string, why: string) => new GatewayError('forbidden', `${field} ${why}; only an admin or a manager may set it wider.`, field);

// null and [] both mean "no limit" for a key's list; within a limiting policy list, a key's list
// must be non-empty and a subset.
function withinList(field: string, asked: string[] | null | undefined, allowed: string[] | null): void {
  if (asked === undefined || allowed === null) return;
  if (!asked || asked.length === 0 || asked.some((v) => !allowed.includes(v))) throw beyond(field, `must be a non-empty subset of ${JSON.stringify(allowed)}`);
}

export function keyWithinPolicy(policy: KeyPolicy | null, asked: KeyAttributes, nowMs: number): KeyAttributes {
  const p = policy ?? noPolicy;
  withinList('allowedModels', asked.allowedModels, p.allowedModels);
  withinList('scopes', asked.scopes, p.scopes);
  const latest = p.maxLifetimeDays === null ? null : new Date(nowMs + p.maxLifetimeDays * 86_400_000);
  if (latest && asked.expiresAt !== undefined && (asked.expiresAt === null || asked.expiresAt > latest)) {
    throw beyond('expiresAt', `must be at most ${p.maxLifetimeDays} days away`);
  }
  return {
    ...asked,
    allowedModels: asked.allowedModels === undefined ? p.allowedModels : asked.allowedModels,
    scopes: asked.scopes === undefined ? (p.scopes ?? []) : asked.scopes,
    expiresAt: asked.expiresAt === undefined ? latest : asked.expiresAt,
  };
}

// A change by the key's own holder leaves its limits alone.
export function assertNoLimitChange(patch: KeyAttributes): void {
  const field = limitFields.find((f) => patch[f] !== undefined);
  if (field) throw new GatewayError('forbidden', `${field} is set by an admin or a manager; you may not change it on your own key.`, field);
}
