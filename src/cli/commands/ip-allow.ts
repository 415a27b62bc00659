// `tollgate ip-allow …`: the CIDRs a key, or every key of an org, may be used from, through the
// admin API (PUT replaces the scope's whole list).
import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { UsageError } from './keys.js';

const columns = ['id', 'scope', 'scopeId', 'cidrs', 'updatedAt'];

export const ipAllowSet = apiCommand({
  name: 'ip-allow set',
  summary: "Set the CIDRs a key (--key ID) or every key of the org may be used from, replacing the scope's list: ip-allow set [--key ID] CIDR...",
  args: 'CIDR...',
  options: { key: { type: 'string' } },
  async run(ctx) {
    if (ctx.positionals.length === 0) throw new UsageError('ip-allow set needs at least one CIDR, e.g. ip-allow set --key key_123 10.0.0.0/8 2001:db8::/32');
    const key = ctx.str('key');
    const body = key === undefined ? { scope: 'org', scopeId: await ctx.org(), cidrs: ctx.positionals } : { scope: 'key', scopeId: key, cidrs: ctx.positionals };
    print(ctx.out, ctx.values.json, await ctx.client.call('PUT', '/ip-allow-lists', { body }), columns);
  },
});

export const ipAllowList = apiCommand({
  name: 'ip-allow list',
  summary: 'List the IP allow-lists of the org and its keys.',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('GET', '/ip-allow-lists', { query: { orgId: await ctx.org() } }), columns);
  },
});

export const ipAllowDelete = apiCommand({
  name: 'ip-allow delete',
  summary: 'Delete an IP allow-list by id: its key (or org) may be used from anywhere again.',
  args: 'ID',
  async run(ctx) {
    if (!ctx.positionals[0]) throw new UsageError('ip-allow delete needs an allow-list id (ip-allow list shows them)');
    print(ctx.out, ctx.values.json, await ctx.client.call('DELETE', `/ip-allow-lists/${ctx.positionals[0]}`), columns);
  },
});
