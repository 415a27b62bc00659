import { apiCommand } from '../api-command.js';
import { print } from '../output.js';
import { UsageError } from './keys.js';

const columns = ['id', 'userId', 'budgetId', 'amount', 'status', 'justification', 'reason'];

export const quotaList = apiCommand({
  name: 'quota list',
  summary: 'List quota increase requests (--status pending|approved|denied).',
  options: { status: { type: 'string' } },
  async run({ client, str, values, out }) {
    print(out, values.json, await client.call('GET', '/quota-requests', { query: { status: str('status') } }), columns);
  },
});

export const quotaRequest = apiCommand({
  name: 'quota request',
  summary: 'Ask for more: --budget ID --amount N --justification TEXT [--user-id for admins].',
  options: { budget: { type: 'string' }, amount: { type: 'string' }, justification: { type: 'string' }, 'user-id': { type: 'string' } },
  async run({ client, str, values, out }) {
    const amount = Number(str('amount'));
    if (!str('budget') || !Number.isInteger(amount) || amount <= 0 || !str('justification')) throw new UsageError('quota request needs --budget ID --amount N --justification TEXT');
    print(out, values.json, await client.call('POST', '/quota-requests', { body: { budgetId: str('budget'), amount, justification: str('justification'), userId: str('user-id') } }), columns);
  },
});

export const quotaApprove = apiCommand({
  name: 'quota approve',
  summary: "Approve a quota request: the budget's limit grows by its amount.",
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('quota approve needs a request id');
    print(out, values.json, await client.call('POST', `/quota-requests/${positionals[0]}/approve`), columns);
  },
});

export const quotaDeny = apiCommand({
  name: 'quota deny',
  summary: 'Deny a quota request: --reason TEXT.',
  options: { reason: { type: 'string' } },
  async run({ client, positionals, str, values, out }) {
    if (!positionals[0] || !str('reason')) throw new UsageError('quota deny needs a request id and --reason TEXT');
    print(out, values.json, await client.call('POST', `/quota-requests/${positionals[0]}/deny`, { body: { reason: str('reason') } }), columns);
  },
});

export const quotaShow = apiCommand({
  name: 'quota show',
  summary: 'Show one quota increase request by id.',
  args: 'ID',
  async run({ client, positionals, values, out }) {
    if (!positionals[0]) throw new UsageError('quota show needs a request id (quota list shows them)');
    print(out, values.json, await client.call('GET', `/quota-requests/${positionals[0]}`), columns);
  },
});
