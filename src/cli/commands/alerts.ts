// `tollgate alerts …` and `tollgate channels …`: alerts listed, acknowledged and resolved, and the
// channels and routes notifications go through, all over the admin API.
import { apiCommand, type ApiCommandContext } from '../api-command.js';
import { print } from '../output.js';
import { teamId } from '../resolve.js';
import { UsageError } from './keys.js';

const alertColumns = ['id', 'severity', 'state', 'source', 'name', 'firstSeenAt', 'summary'];
const channelColumns = ['id', 'type', 'name', 'orgId', 'enabled', 'settings', 'consecutiveFailures'];
const routeColumns = ['id', 'channelId', 'orgId', 'teamId', 'source', 'minSeverity', 'step'];

const needId = (ctx: ApiCommandContext, what: string): string => {
  if (!ctx.positionals[0]) throw new UsageError(`${what} needs an id`);
  return ctx.positionals[0];
};

export const alertsList = apiCommand({
  name: 'alerts list',
  summary: 'List alerts, newest first: [--active] [--severity low|medium|high|critical] [--source S] [--state S] [--limit N].',
  options: { active: { type: 'boolean' }, severity: { type: 'string' }, source: { type: 'string' }, state: { type: 'string' }, limit: { type: 'string' } },
  async run({ client, str, values, out }) {
    const query = { active: values.active ? 'true' : undefined, severity: str('severity'), source: str('source'), state: str('state'), limit: str('limit') };
    print(out, values.json, await client.call('GET', '/alerts', { query }), alertColumns);
  },
});

export const alertsHistory = apiCommand({
  name: 'alerts history',
  summary: "An alert's history: fired, notified, repeated, escalated, inhibited, acknowledged, resolved.",
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('GET', `/alerts/${needId(ctx, 'alerts history')}/history`), ['at', 'kind', 'actor', 'detail']);
  },
});

export const alertsAck = apiCommand({
  name: 'alerts ack',
  summary: 'Acknowledge a firing alert: it stops repeating and escalating.',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('POST', `/alerts/${needId(ctx, 'alerts ack')}/acknowledge`), alertColumns);
  },
});

export const alertsResolve = apiCommand({
  name: 'alerts resolve',
  summary: 'Resolve an alert; its channels get the resolved notice.',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('POST', `/alerts/${needId(ctx, 'alerts resolve')}/resolve`), alertColumns);
  },
});

export const channelsAdd = apiCommand({
  name: 'channels add',
  summary: 'Add a channel: --type webhook|slack|email|console --name N [--url U (webhook, slack)] [--to a@x,b@y (email)] [--secret whsec_… (webhook)] [--org O]. Secrets are shown once.',
  options: { type: { type: 'string' }, name: { type: 'string' }, url: { type: 'string' }, to: { type: 'string' }, secret: { type: 'string' } },
  async run(ctx) {
    const { str, values, client, out } = ctx;
    const type = str('type');
    if (!type || !['webhook', 'slack', 'email', 'console'].includes(type)) throw new UsageError('channels add needs --type webhook|slack|email|console');
    const name = str('name') ?? type;
    if ((type === 'webhook' || type === 'slack') && !str('url')) throw new UsageError(`a ${type} channel needs --url`);
    if (type === 'email' && !str('to')) throw new UsageError('an email channel needs --to address[,address]');
    const body = {
      type,
      name,
      ...(str('url') ? { url: str('url') } : {}),
      ...(str('to') ? { to: str('to')!.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(str('secret') ? { secret: str('secret') } : {}),
      ...(str('org') ? { orgId: await ctx.org() } : {}),
    };
    const created = await client.call('POST', '/alert-channels', { body });
    print(out, values.json, created, [...channelColumns, ...(created.secret ? ['secret'] : []), ...(created.url ? ['url'] : [])]);
  },
});

export const channelsList = apiCommand({
  name: 'channels list',
  summary: 'List notification channels (secrets are never shown).',
  async run({ client, values, out }) {
    print(out, values.json, await client.call('GET', '/alert-channels'), channelColumns);
  },
});

export const channelsTest = apiCommand({
  name: 'channels test',
  summary: 'Send a test notification through a channel now and show what the receiver answered.',
  async run(ctx) {
    const result = await ctx.client.call('POST', `/alert-channels/${needId(ctx, 'channels test')}/test`);
    print(ctx.out, ctx.values.json, result, ['channelId', 'webhookId', 'outcome', 'status', 'error']);
    return result.outcome === 'sent' ? 0 : 1;
  },
});

export const channelsRemove = apiCommand({
  name: 'channels remove',
  summary: 'Remove a channel with its routes and undelivered notifications.',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('DELETE', `/alert-channels/${needId(ctx, 'channels remove')}`), ['id', 'removed']);
  },
});

export const channelsRoute = apiCommand({
  name: 'channels route',
  summary: 'Send alerts to a channel: ID [--severity minimum] [--source S] [--team T] [--step N (0: on firing; n: escalation)].',
  options: { severity: { type: 'string' }, source: { type: 'string' }, team: { type: 'string' }, step: { type: 'string' } },
  async run(ctx) {
    const { str, client, values, out } = ctx;
    const channelId = needId(ctx, 'channels route');
    const step = str('step') === undefined ? undefined : Number(str('step'));
    if (step !== undefined && (!Number.isInteger(step) || step < 0)) throw new UsageError('--step must be a whole number from 0');
    const body = {
      channelId,
      ...(str('severity') ? { minSeverity: str('severity') } : {}),
      ...(str('source') ? { source: str('source') } : {}),
      ...(str('team') ? { teamId: await teamId(client, await ctx.org(), str('team')!) } : {}),
      ...(step === undefined ? {} : { step }),
    };
    print(out, values.json, await client.call('POST', '/alert-routes', { body }), routeColumns);
  },
});

export const channelsRoutes = apiCommand({
  name: 'channels routes',
  summary: 'List alert routes by step.',
  async run({ client, values, out }) {
    print(out, values.json, await client.call('GET', '/alert-routes'), routeColumns);
  },
});

export const alertsShow = apiCommand({
  name: 'alerts show',
  summary: 'Show one alert by id.',
  args: 'ID',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('GET', `/alerts/${needId(ctx, 'alerts show')}`), alertColumns);
  },
});

export const channelsEnable = apiCommand({
  name: 'channels enable',
  summary: 'Enable a channel again (after its receiver answered 410 Gone and it was disabled).',
  args: 'ID',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('POST', `/alert-channels/${needId(ctx, 'channels enable')}/enable`), channelColumns);
  },
});

export const channelsRotateSecret = apiCommand({
  name: 'channels rotate-secret',
  summary: 'Give a webhook channel a new signing secret (shown once); the old one keeps signing for the rotation grace period.',
  args: 'ID',
  async run(ctx) {
    print(ctx.out, ctx.values.json, await ctx.client.call('POST', `/alert-channels/${needId(ctx, 'channels rotate-secret')}/rotate-secret`), [...channelColumns, 'secret']);
  },
});
