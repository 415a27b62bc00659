// A CLI command that talks to the control plane: common flags (--org, --token, --json) and one
// admin client opened for the run and closed after it.
import type { Command, CommandContext } from './command.js';
import { type AdminClient, openAdminClient } from './admin-client.js';
import { orgId } from './resolve.js';

export interface ApiCommandContext extends CommandContext {
  client: AdminClient;
  // The --org flag resolved to an id (the org named "default" when absent).
  org(): Promise<string>;
  str(name: string): string | undefined;
}

export function apiCommand(spec: { name: string; summary: string; args?: string; options?: Command['options']; run(ctx: ApiCommandContext): Promise<number | void> }): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    ...(spec.args ? { args: spec.args } : {}),
    options: { org: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, ...spec.options },
    async run(ctx) {
      const client = await openAdminClient(ctx.values.token as string | undefined);
      try {
        const str = (name: string) => (typeof ctx.values[name] === 'string' ? (ctx.values[name] as string) : undefined);
        return await spec.run({ ...ctx, client, str, org: () => orgId(client, str('org') ?? 'default') });
      } finally {
        await client.close();
      }
    },
  };
}
