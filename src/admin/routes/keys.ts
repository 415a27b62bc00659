import { z } from 'zod';
import { assertNoLimitChange, keyWithinPolicy } from '../../control/key-policy.js';
import { createApiKey, getKey, listApiKeys, revokeApiKey, rotateApiKey, updateApiKey } from '../../control/keys.js';
import { getUser } from '../../control/users.js';
import type { Access } from '../access.js';
import type { Db } from '../../db/database.js';
import { reachOf } from '../rbac.js';
import { route } from '../route.js';
import { id, isoDate, keyScope, label, limit, metadata, models, patchBody, queryBool } from '../schemas.js';

const attributes = {
  name: label.nullable().optional(),
  // Empty: every endpoint family.
  scopes: z.array(keyScope).max(50).optional(),
  // null: every model in the catalog.
  allowedModels: models.nullable().optional(),
  metadata: metadata.optional(),
  expiresAt: isoDate.nullable().optional(),
};

async function assertKeyOwner(db: Db, access: Access, keyId: string, permission: 'keys:read' | 'keys:write') {
  const key = await getKey(db, keyId);
  await access.assertUser(permission, await getUser(db, key.userId));
  return key;
}

// Callers who may manage only their own keys (developers) live within the limits others set.
const boundByPolicy = (access: Access) => reachOf(access.actor.role, 'keys:write') === 'own';

export const keyRoutes = [
  route({
    method: 'GET', path: '/keys', tag: 'keys', summary: 'List API keys (never the key itself; prefix for display)', permission: 'keys:read',
    query: z.object({ userId: id.optional(), orgId: id.optional(), active: queryBool.optional(), cursor: id.optional(), limit }),
    async handle({ db, access, query }) {
      return listApiKeys(db, await access.visibility('keys:read'), query);
    },
  }),
  route({
    method: 'POST', path: '/keys', tag: 'keys', summary: 'Create an API key for a user; the plaintext key is in this answer only', permission: 'keys:write', status: 201,
    body: z.object({ userId: id, ...attributes }),
    async handle({ db, bus, access, change, settings, body }) {
      const { userId, ...asked } = body;
      const user = await getUser(db, userId);
      await access.assertUser('keys:write', user);
      const attrs = boundByPolicy(access) ? keyWithinPolicy(user.keyPolicy, asked, Date.now()) : asked;
      return createApiKey(db, bus, change, userId, attrs, { maxActiveKeys: settings.maxKeysPerUser });
    },
  }),
  route({
    method: 'GET', path: '/keys/:id', tag: 'keys', summary: 'Get an API key', permission: 'keys:read',
    handle: ({ db, access, params }) => assertKeyOwner(db, access, params.id!, 'keys:read'),
  }),
  route({
    method: 'PATCH', path: '/keys/:id', tag: 'keys', summary: "Change a key's name, scopes, model allow list, metadata or expiry", permission: 'keys:write',
    body: patchBody(attributes),
    async handle({ db, bus, access, change, params, body }) {
      await assertKeyOwner(db, access, params.id!, 'keys:write');
      if (boundByPolicy(access)) assertNoLimitChange(body);
      return updateApiKey(db, bus, change, params.id!, body);
    },
  }),
  route({
    method: 'POST', path: '/keys/:id/revoke', tag: 'keys', summary: 'Revoke a key: every replica refuses it within a second', permission: 'keys:write',
    async handle({ db, bus, access, change, params }) {
      await assertKeyOwner(db, access, params.id!, 'keys:write');
      return revokeApiKey(db, bus, change, params.id!);
    },
  }),
  route({
    method: 'POST', path: '/keys/:id/rotate', tag: 'keys', summary: 'Issue a replacement key; the old one keeps working for the grace period', permission: 'keys:write', status: 201,
    body: z.object({ graceMs: z.number().int().nonnegative().max(30 * 86_400_000).optional() }),
    async handle({ db, bus, access, change, settings, params, body }) {
      await assertKeyOwner(db, access, params.id!, 'keys:write');
      return rotateApiKey(db, bus, change, params.id!, body.graceMs ?? settings.rotationGraceMs);
    },
  }),
];
