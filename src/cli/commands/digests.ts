// `tollgate digests`: scheduled report digests over the admin API (/report-schedules).
import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { teamId } from '../resolve.js';
import { UsageError } from './keys.js';

const columns = ['id', 'name', 'cadence', 'tz', 'teamId', 'channelIds', 'enabled'];

export const digestsList = apiCommand({
  name: 'digests list',
  summary: 'List scheduled report digests of an org.',
  async run({ client, org, values, out }) {
    print(out, values.json, await client.call('GET', '/report-schedules', { query: { orgId: await org() } }), columns);
  },
});

export const digestsAdd = apiCommand({
  name: 'digests add',
  summary: 'Schedule a digest: --name N --cadence daily|weekly|monthly --channels ID,ID [--team T] [--tz Z] [--top N].',
  options: { name: { type: 'string' }, cadence: { type: 'string' }, channels: { type: 'string' }, team: { type: 'string' }, tz: { type: 'string' }, top: { type: 'string' } },
  async run({ client, org, str, values, out }) {
    const [name, cadence, channels] = [str('name'), str('cadence'), str('channels')];
    if (!name || !cadence || !channels) throw new UsageError('digests add needs --name, --cadence daily|weekly|monthly and --channels ID,ID');
    const top = str('top');
    if (top !== undefined && !/^[1-9]\d*$/.test(top)) throw new UsageError('--top must be a positive whole number');
    const orgId = await org();
    const team = str('team');
    const body = { orgId, name, cadence, channelIds: channels.split(',').map((c) => c.trim()).filter(Boolean), tz: str('tz'), top: top === undefined ? undefined : Number(top), teamId: team ? await teamId(client, orgId, team) : undefined };
    print(out, values.json, await client.call('POST', '/report-schedules', { body }), columns);
  },
});

export const digestsRemove = apiCommand({
  name: 'digests remove',
  summary: 'Remove a scheduled digest by id.',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('digests remove needs a schedule id');
    print(out, values.json, await client.call('DELETE', `/report-schedules/${encodeURIComponent(positionals[0])}`), ['deleted']);
  },
});

export const digestsSent = apiCommand({
  name: 'digests sent',
  summary: 'The digests a schedule has sent, newest first.',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('digests sent needs a schedule id');
    print(out, values.json, await client.call('GET', `/report-schedules/${encodeURIComponent(positionals[0])}/digests`), ['periodFrom', 'periodTo', 'state', 'queuedAt', 'totals']);
  },
});
