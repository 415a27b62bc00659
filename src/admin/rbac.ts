// Who may do what: each role's reach for each permission. 'all' covers every org (or the actor's
// own org when it acts as a user), 'teams' the actor's team and the teams below it, 'own' the
// actor's own user and keys. A permission a role lacks is refused before any handler runs.
import type { Role } from '../control/actor.js';

export const permissions = [
  'orgs:read', 'orgs:write',
  'teams:read', 'teams:write',
  'users:read', 'users:write',
  'keys:read', 'keys:write',
  'admin_keys:read', 'admin_keys:write',
  'budgets:read', 'budgets:write',
  'templates:read', 'templates:write',
  'quota:read', 'quota:submit', 'quota:decide',
  'usage:read',
  'audit:read',
  'alerts:read', 'alerts:write',
  'channels:read', 'channels:write',
] as const;
export type Permission = (typeof permissions)[number];
export type Reach = 'all' | 'teams' | 'own';

const readAll = (...names: string[]): Partial<Record<Permission, Reach>> => Object.fromEntries(names.map((n) => [`${n}:read`, 'all']));

export const grants: Readonly<Record<Role, Partial<Record<Permission, Reach>>>> = {
  admin: Object.fromEntries(permissions.map((p) => [p, 'all'])),
  manager: {
    'orgs:read': 'all',
    'templates:read': 'all',
    'teams:read': 'teams', 'teams:write': 'teams',
    'users:read': 'teams', 'users:write': 'teams',
    'keys:read': 'teams', 'keys:write': 'teams',
    'budgets:read': 'teams', 'budgets:write': 'teams',
    'quota:read': 'teams', 'quota:decide': 'teams', 'quota:submit': 'own',
    'usage:read': 'teams',
    'alerts:read': 'teams', 'alerts:write': 'teams',
    'channels:read': 'all',
  },
  analyst: { ...readAll('orgs', 'teams', 'users', 'keys', 'budgets', 'templates', 'quota', 'usage', 'audit', 'alerts', 'channels') },
  developer: {
    'templates:read': 'all',
    'users:read': 'own',
    'keys:read': 'own', 'keys:write': 'own',
    'budgets:read': 'own',
    'quota:read': 'own', 'quota:submit': 'own',
    'usage:read': 'own',
    'alerts:read': 'own',
  },
  viewer: { ...readAll('orgs', 'teams', 'users', 'keys', 'budgets', 'templates', 'quota', 'usage', 'alerts', 'channels') },
};

export const reachOf = (role: Role, permission: Permission): Reach | undefined => grants[role][permission];
