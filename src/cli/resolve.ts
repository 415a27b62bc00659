// Names people type (--org acme, --team research, --user alice) to the ids the admin API takes.
import { UsageError } from './commands/keys.js';
import type { AdminClient } from './admin-client.js';

export async function orgId(client: AdminClient, name: string): Promise<string> {
  const { data } = await client.call<{ data: Array<{ id: string; name: string }> }>('GET', '/orgs');
  const org = data.find((o) => o.name === name || o.id === name);
  if (!org) throw new UsageError(`no org named ${name}`);
  return org.id;
}

export async function teamId(client: AdminClient, org: string, name: string): Promise<string> {
  const { data } = await client.call<{ data: Array<{ id: string }> }>('GET', '/teams', { query: { orgId: org, name } });
  if (data[0]) return data[0].id;
  if (name.startsWith('team_')) return name;
  throw new UsageError(`no team named ${name}`);
}

export async function userId(client: AdminClient, org: string, name: string): Promise<string> {
  const { data } = await client.call<{ data: Array<{ id: string }> }>('GET', '/users', { query: { orgId: org, name } });
  if (data[0]) return data[0].id;
  if (name.startsWith('usr_')) return name;
  throw new UsageError(`no user named ${name}`);
}
