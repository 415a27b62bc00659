import { z } from 'zod';
import { createApiKey, getKey, listApiKeys, revokeApiKey, rotateApiKey, updateApiKey } from '../../control/keys.js';
import { getUser } from '../../control/users.js';
import type { Access } from '../access.js';
import type { Db } from '../../db/database.js';
import { route } from '../route.js';
import { id, isoDate, limit, metadata, queryBool } from '../schemas.js';

const attributes = {
  name: z.string().max(200).nullable().optional(),
  scopes: z.array(z.string().min(1).max(100)).max(50).optional(),
  // null: every model in the catalog.
  allowedModels: z.array(z.string().min(1)).max(500).nullable().optional(),
  metadata: metadata.optional(),
  expiresAt: isoDate.nullable().optional(),
};

async function assertKeyOwner(db: Db, access: Access, keyId: string, permission: 'keys:read' | 'keys:write') {
  const key = await getKey(db, keyId);
  await access.assertUser(permission, await getUser(db, key.userId));
  return key;
}

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
    async handle({ db, bus, access, change, body }) {
      const { userId, ...attrs } = body;
      await access.assertUser('keys:write', await getUser(db, userId));
      return createApiKey(db, bus, change, userId, attrs);
    },
  }),
  route({
    method: 'GET', path: '/keys/:id', tag: 'keys', summary: 'Get an API key', permission: 'keys:read',
    handle: ({ db, access, params }) => assertKeyOwner(db, access, params.id!, 'keys:read'),
  }),
  route({
    method: 'PATCH', path: '/keys/:id', tag: 'keys', summary: "Change a key's name, scopes, model allow list, metadata or expiry", permission: 'keys:write',
    body: z.object(attributes),
    async handle({ db, bus, access, change, params, body }) {
      await assertKeyOwner(db, access, params.id!, 'keys:write');
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
