// `keys create` and `keys revoke`: through the admin API when TOLLGATE_URL is set, on the database
// otherwise (the same routes either way, so both are audited and invalidated alike). `keys create`
// is also the bootstrap: a missing org, team or user is created on the way.
import { apiCommand } from '../api-command.js';
import type { AdminClient } from '../admin-client.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

interface Named {
  id: string;
  name: string;
}

async function findOrCreate(client: Pick<AdminClient, 'call'>, path: string, query: Record<string, string>, body: Record<string, unknown>): Promise<string> {
  const { data } = await client.call<{ data: Named[] }>('GET', path, { query });
  const found = data.find((row) => row.name === body.name);
  if (found) return found.id;
  return (await client.call<Named>('POST', path, { body })).id;
}

export interface KeyRequest {
  org: string;
  team?: string | undefined;
  user: string;
  name?: string | undefined;
  allowedModels?: string[] | undefined;
  scopes?: string[] | undefined;
  expiresAt?: Date | undefined;
}

export interface CreatedKey {
  key: string;
  id: string;
  prefix: string;
  orgId: string;
  teamId: string | null;
  userId: string;
}

export async function createKeyFor(client: Pick<AdminClient, 'call'>, request: KeyRequest): Promise<CreatedKey> {
  const orgId = await findOrCreate(client, '/orgs', {}, { name: request.org });
  const teamId = request.team ? await findOrCreate(client, '/teams', { orgId, name: request.team }, { orgId, name: request.team }) : null;
  const userId = await findOrCreate(client, '/users', { orgId, name: request.user }, { orgId, name: request.user, teamId });
  const created = await client.call<{ id: string; prefix: string; key: string }>('POST', '/keys', {
    body: {
      userId,
      name: request.name ?? null,
      ...(request.allowedModels ? { allowedModels: request.allowedModels } : {}),
      ...(request.scopes ? { scopes: request.scopes } : {}),
      ...(request.expiresAt ? { expiresAt: request.expiresAt.toISOString() } : {}),
    },
  });
  return { key: created.key, id: created.id, prefix: created.prefix, orgId, teamId, userId };
}

export const keysCreate = apiCommand({
  name: 'keys create',
  summary: 'Create an API key for a user (creating the org, team and user if needed); prints the key once.',
  options: { user: { type: 'string' }, team: { type: 'string' }, name: { type: 'string' }, models: { type: 'string' }, scopes: { type: 'string' }, expires: { type: 'string' } },
  async run({ client, str, values, out }) {
    const user = str('user');
    if (!user) throw new UsageError('keys create needs --user NAME');
    const expires = str('expires');
    if (expires !== undefined && Number.isNaN(Date.parse(expires))) throw new UsageError('--expires must be an ISO date, e.g. 2027-01-31T00:00:00Z');
    const created = await createKeyFor(client, {
      org: str('org') ?? 'default',
      team: str('team'),
      user,
      name: str('name'),
      allowedModels: str('models')?.split(',').map((m) => m.trim()).filter(Boolean),
      // Endpoint families (chat, embeddings, ...); none: every family.
      scopes: str('scopes')?.split(',').map((s) => s.trim()).filter(Boolean),
      expiresAt: expires === undefined ? undefined : new Date(expires),
    });
    if (values.json) out(JSON.stringify(created));
    else out(`${created.key}\n(key id ${created.id} for user ${user}; this is the only time the key is shown)`);
  },
});

export const keysRevoke = apiCommand({
  name: 'keys revoke',
  summary: 'Revoke a key by id; every replica refuses it within a second.',
  async run({ client, positionals, values, out }) {
    const id = positionals[0];
    if (!id) throw new UsageError('keys revoke needs a key id');
    await client.call('POST', `/keys/${id}/revoke`);
    if (values.json) out(JSON.stringify({ id, revoked: true }));
    else out(`revoked ${id}`);
  },
});
