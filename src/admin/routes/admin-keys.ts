import { z } from 'zod';
import { createAdminKey, listAdminKeys, revokeAdminKey } from '../../control/admin-keys.js';
import { route } from '../route.js';
import { id, isoDate, label, role } from '../schemas.js';

export const adminKeyRoutes = [
  route({
    method: 'GET', path: '/admin-keys', tag: 'admin keys', summary: 'List admin API keys', permission: 'admin_keys:read',
    handle: async ({ db }) => ({ data: await listAdminKeys(db) }),
  }),
  route({
    method: 'POST', path: '/admin-keys', tag: 'admin keys', summary: 'Create an admin API key with a role (acting as userId for manager and developer reach)', permission: 'admin_keys:write', status: 201,
    body: z.object({ name: label.refine((v) => v !== '', 'is required'), role, userId: id.nullable().optional(), expiresAt: isoDate.nullable().optional() }),
    handle: ({ db, change, body }) => createAdminKey(db, change, body),
  }),
  route({
    method: 'POST', path: '/admin-keys/:id/revoke', tag: 'admin keys', summary: 'Revoke an admin API key', permission: 'admin_keys:write',
    handle: ({ db, change, params }) => revokeAdminKey(db, change, params.id!),
  }),
];
