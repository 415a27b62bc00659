// `tollgate usage`: a user's own standing, as GET /v1/usage gives it to their Tollgate key.
import { request } from 'undici';
import type { Command } from '../command.js';
import { print } from '../output.js';
import { UsageError } from './keys.js';

const columns = ['scope', 'scope_id', 'metric', 'window', 'limit', 'used', 'reserved', 'remaining', 'percent', 'resets_at'];

export const usage: Command = {
  name: 'usage',
  summary: 'Show your usage against every budget that applies to your key (TOLLGATE_URL, --key or TOLLGATE_KEY, --session).',
  options: { key: { type: 'string' }, session: { type: 'string' }, json: { type: 'boolean', default: false } },
  async run({ values, out }) {
    const url = process.env.TOLLGATE_URL;
    const key = (values.key as string | undefined) ?? process.env.TOLLGATE_KEY;
    if (!url || !key) throw new UsageError('usage needs TOLLGATE_URL and a Tollgate key (--key or TOLLGATE_KEY)');
    const session = values.session as string | undefined;
    const res = await request(new URL('/v1/usage', url), { headers: { authorization: `Bearer ${key}`, ...(session ? { 'x-session-id': session } : {}) } });
    const body = (await res.body.json()) as { error?: { message: string }; budgets: unknown[]; today: Record<string, unknown>; session: Record<string, unknown> | null };
    if (res.statusCode !== 200) throw new Error(body.error?.message ?? `GET /v1/usage answered ${res.statusCode}`);
    if (values.json) {
      out(JSON.stringify(body));
      return;
    }
    print(out, false, body.budgets, columns);
    out(`\ntoday: ${body.today.requests} requests, ${body.today.tokens} tokens, $${(Number(body.today.cost_micros) / 1e6).toFixed(6)}`);
    if (body.session) out(`session ${body.session.id}: ${body.session.requests} requests, ${body.session.tokens} tokens, $${(Number(body.session.cost_micros) / 1e6).toFixed(6)}`);
  },
};
