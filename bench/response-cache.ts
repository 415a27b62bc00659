// The response cache on the chat route: `node --import ./bin/typescript.js bench/response-cache.ts`.
// Two embedded gateways against one mock upstream, in this process: one with nobody opted in (the
// baseline, the path every request took before the cache), one with every org opted in. Three
// kinds of request, interleaved so load on a shared machine hits them alike: the baseline, a miss
// on the cached gateway (a new body each time: lookup, capture and store on top of the baseline),
// and a hit (one body again and again: no upstream call, no reservation). Prints median latency and
// CPU per request (this whole process: driver, gateway and mock) as ratios against the baseline.
import { request } from 'undici';
import { startMockUpstream } from './mock-upstream.js';
import { startTestGateway } from '../test/helpers/gateway.js';

const runs = Number(process.env.RUNS ?? 400);
const mock = await startMockUpstream({ record: false });
const budgets = { 'budget.budgets': [{ scope: 'user', scopeId: '*', metric: 'costMicros', window: 'month', limit: 1_000_000_000 }] };
const plain = await startTestGateway({ mock, overrides: budgets });
const cached = await startTestGateway({ mock, overrides: { ...budgets, 'responseCache.scopes': [{ scope: 'org', id: '*' }] } });

const body = (n: number) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `[mock chunks=8] question ${n}` }], max_tokens: 64 });

async function call(url: string, key: string, payload: string, expectCache: string | undefined): Promise<number> {
  const started = performance.now();
  const res = await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: payload });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200 || res.headers['x-tollgate-cache'] !== expectCache) throw new Error(`status ${res.statusCode}, cache ${String(res.headers['x-tollgate-cache'])}`);
  return performance.now() - started;
}

const kinds = {
  baseline: { ms: [] as number[], cpuUs: 0, run: (i: number) => call(plain.url, plain.key, body(i), undefined) },
  miss: { ms: [] as number[], cpuUs: 0, run: (i: number) => call(cached.url, cached.key, body(1_000_000 + i), 'miss') },
  hit: { ms: [] as number[], cpuUs: 0, run: () => call(cached.url, cached.key, body(-1), 'hit') },
};
await call(cached.url, cached.key, body(-1), 'miss');
for (let i = -20; i < runs; i++) {
  for (const kind of Object.values(kinds)) {
    const cpu = process.cpuUsage();
    const ms = await kind.run(i + 20);
    const used = process.cpuUsage(cpu);
    if (i >= 0) {
      kind.ms.push(ms);
      kind.cpuUs += used.user + used.system;
    }
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = { ms: median(kinds.baseline.ms), cpuUs: kinds.baseline.cpuUs / runs };
for (const [name, kind] of Object.entries(kinds)) {
  const ms = median(kind.ms);
  const cpuUs = kind.cpuUs / runs;
  process.stdout.write(`${name.padEnd(8)} median ${ms.toFixed(2)} ms (x${(ms / base.ms).toFixed(2)})  CPU/request ${(cpuUs / 1000).toFixed(2)} ms (x${(cpuUs / base.cpuUs).toFixed(2)})\n`);
}
await cached.close();
await plain.close();
await mock.close();
