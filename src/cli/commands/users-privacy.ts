// `tollgate users export USER` and `tollgate users erase USER --yes`: a person's data on request,
// over the admin API (src/admin/routes/privacy.ts).
import { writeFileSync } from 'node:fs';
import { apiCommand } from '../api-command.js';
import { userId } from '../resolve.js';
import { UsageError } from './keys.js';

export const usersExport = apiCommand({
  name: 'users export',
  summary: 'Export everything held about a user as JSON, by table (to --out FILE, or stdout).',
  args: 'USER',
  options: { out: { type: 'string' } },
  async run({ client, org, positionals, str, out }) {
    if (!positionals[0]) throw new UsageError('users export needs a user name or id');
    const data = await client.call('GET', `/users/${await userId(client, await org(), positionals[0])}/export`);
    const text = JSON.stringify(data, null, 2);
    const file = str('out');
    if (!file) return out(text);
    writeFileSync(file, `${text}\n`, { flag: 'wx', mode: 0o600 });
    out(`wrote ${Object.values(data.tables as Record<string, unknown[]>).reduce((n, rows) => n + rows.length, 0)} rows about ${data.userId} to ${file}`);
  },
});

export const usersErase = apiCommand({
  name: 'users erase',
  summary: "Erase a user's personal data (keys revoked, usage kept under a pseudonym); cannot be undone, so needs --yes.",
  args: 'USER',
  options: { yes: { type: 'boolean', default: false } },
  async run({ client, org, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('users erase needs a user name or id');
    if (!values.yes) throw new UsageError('users erase cannot be undone: pass --yes to erase');
    const result = await client.call('POST', `/users/${await userId(client, await org(), positionals[0])}/erase`);
    if (values.json) return out(JSON.stringify(result));
    out(`erased ${positionals[0]}: usage kept as ${result.pseudonym}, ${result.keysRevoked} keys revoked`);
  },
});
