// `tollgate report`: a usage report from GET /admin/v1/reports, written to --out or stdout. Names
// (--org acme, --team research, --user alice) are resolved to ids here; a key is given by its id.
import { writeFileSync } from 'node:fs';
import { apiCommand } from '../api-command.js';
import { teamId, userId } from '../resolve.js';
import { UsageError } from './keys.js';

export const report = apiCommand({
  name: 'report',
  summary: 'Write a usage report: --org ORG [--team T | --user U | --key KEY_ID] (--period YYYY-MM | --from D --to D) [--tz Z] --format json|csv|html|pdf [--out FILE] [--top N] [--tags project,env] [--labels env,product] (sections by department, cost center, each tag and each label).',
  options: {
    team: { type: 'string' },
    user: { type: 'string' },
    key: { type: 'string' },
    period: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    tz: { type: 'string' },
    format: { type: 'string', default: 'json' },
    out: { type: 'string' },
    top: { type: 'string' },
    tags: { type: 'string' },
    labels: { type: 'string' },
  },
  async run({ client, str, org, out }) {
    if (!str('org')) throw new UsageError('report needs --org');
    if (!str('period') && !(str('from') && str('to'))) throw new UsageError('report needs --period YYYY-MM or both --from and --to');
    const orgId = await org();
    const team = str('team');
    const user = str('user');
    const body: string | Buffer = await client.call('GET', '/reports', {
      query: {
        org: orgId,
        team: team && (await teamId(client, orgId, team)),
        user: user && (await userId(client, orgId, user)),
        key: str('key'),
        period: str('period'),
        from: str('from'),
        to: str('to'),
        tz: str('tz'),
        format: str('format'),
        top: str('top'),
        tags: str('tags'),
        labels: str('labels'),
      },
    });
    // JSON arrives parsed from the HTTP client and as an object in process.
    const bytes = typeof body === 'string' || Buffer.isBuffer(body) ? body : `${JSON.stringify(body, null, 2)}\n`;
    const file = str('out');
    if (file) writeFileSync(file, bytes);
    else if (Buffer.isBuffer(bytes)) process.stdout.write(bytes);
    else out(bytes.trimEnd());
  },
});
