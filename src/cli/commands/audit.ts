import { apiCommand } from '../api-command.js';
import { print } from '../output.js';

const filters = { action: { type: 'string' }, 'resource-id': { type: 'string' }, since: { type: 'string' }, limit: { type: 'string', default: '50' } } as const;

export const auditList = apiCommand({
  name: 'audit list',
  summary: 'Show audit log entries, newest first (--action, --resource-id, --since ISO, --limit).',
  options: filters,
  async run({ client, str, values, out }) {
    const page = await client.call('GET', '/audit', { query: { action: str('action'), resourceId: str('resource-id'), since: str('since'), limit: str('limit') } });
    print(out, values.json, page, ['id', 'at', 'actorType', 'actorId', 'action', 'resourceType', 'resourceId']);
  },
});

export const auditExport = apiCommand({
  name: 'audit export',
  summary: 'Export the audit log to stdout (--format csv|jsonl).',
  options: { ...filters, limit: { type: 'string', default: '10000' }, format: { type: 'string', default: 'csv' } },
  async run({ client, str, out }) {
    const text: string = await client.call('GET', '/audit/export', { query: { action: str('action'), resourceId: str('resource-id'), since: str('since'), limit: str('limit'), format: str('format') } });
    out(text.trimEnd());
  },
});
