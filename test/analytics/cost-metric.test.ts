// tollgate_cost_micros_total{provider,model} counts what the ledger records as cost, so the spend a
// dashboard shows is the spend reports show.
import { sql } from 'drizzle-orm';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { chatStatus, smallChat } from '../helpers/requests.js';

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const ledgerCosts = async () => {
  const result = (await gw.app.database.db.execute(sql`select provider, model, count(*)::int as n, sum(cost_micros)::bigint as cost from usage_events group by provider, model order by model`)) as unknown as {
    rows: Array<{ provider: string; model: string; n: number; cost: string }>;
  };
  return result.rows;
};

it('adds up to the cost the usage ledger records, by provider and model', async () => {
  const bodies = [smallChat, smallChat, { ...smallChat, model: 'gpt-4o' }, { ...smallChat, messages: [{ role: 'user', content: 'a longer prompt '.repeat(50) }] }];
  for (const body of bodies) expect(await chatStatus(gw.url, gw.key, body)).toBe(200);
  await expect.poll(async () => (await ledgerCosts()).reduce((n, r) => n + r.n, 0), { timeout: 5_000 }).toBe(bodies.length);
  const text = await (await request(`${gw.url}/metrics`)).body.text();
  const scraped = [...text.matchAll(/^tollgate_cost_micros_total\{provider="([^"]+)",model="([^"]+)"\} (\d+)$/gm)].map((m) => ({ provider: m[1], model: m[2], cost: m[3] }));
  const ledger = (await ledgerCosts()).map(({ provider, model, cost }) => ({ provider, model, cost: String(cost) }));
  expect(ledger.every((r) => Number(r.cost) > 0)).toBe(true);
  expect(scraped.sort((a, b) => a.model!.localeCompare(b.model!))).toEqual(ledger);
});
