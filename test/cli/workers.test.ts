// `tollgate serve --workers 2` on Redis and Postgres: two gateway processes behind one port,
// budgets exact across them, a crashed worker replaced, and SIGTERM draining every one of them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { type GatewayProcess, runCli, spawnGateway } from '../helpers/processes.js';
import { createTestDatabase, postgresAvailable, redisAvailable, redisUrl } from '../helpers/services.js';
import { smallChat } from '../helpers/requests.js';
import { usableCores } from '../../src/cluster/cores.js';

const ready = (await redisAvailable()) && (await postgresAvailable());
const drainTimeoutMs = 2_000;
const requestsPerKey = 20;

// Each request on a connection of its own, so the primary hands it to the next worker.
async function chat(url: string, key: string, body: object = smallChat) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    reset: true,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

const logLines = (g: GatewayProcess) =>
  g.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; pid?: number; opsPort?: number; status?: number });
const listeningPids = (g: GatewayProcess) => logLines(g).filter((l) => l.msg === 'tollgate listening').map((l) => l.pid!);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// One GET /metrics: the 200s counted in tollgate_requests_total, and how many workers it merged.
async function scrape(port: number) {
  const res = await request(`http://127.0.0.1:${port}/metrics`, { reset: true });
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(200);
  const sample = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    ok: sample(/^tollgate_requests_total\{[^}]*status="200"[^}]*\} (\d+)$/gm),
    workers: sample(/^tollgate_workers_scraped (\d+)$/gm),
    text,
  };
}

describe('the default worker count', () => {
  it('follows a cgroup CPU quota below the visible cores, and the visible cores without one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-cpu-max-'));
    const cpuMax = (text: string) => {
      writeFileSync(join(dir, 'cpu.max'), text);
      return usableCores(join(dir, 'cpu.max'));
    };
    try {
      expect(cpuMax('50000 100000\n')).toBe(1);
      expect(cpuMax('100000000 100000\n')).toBe(availableParallelism());
      expect(cpuMax('max 100000\n')).toBe(availableParallelism());
      expect(usableCores(join(dir, 'absent'))).toBe(availableParallelism());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve --workers on embedded stores', () => {
  it('refuses more than one worker and says what it needs', async () => {
    const result = await runCli(['serve', '--workers', '2'], { REDIS_URL: '', DATABASE_URL: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--workers 2 needs REDIS_URL and DATABASE_URL/);
  });
});

describe.skipIf(!ready)('serve --workers 2 on an unmigrated database', () => {
  it('stops with exit 1 and says how to migrate, instead of restarting workers that cannot start', async () => {
    const database = await createTestDatabase('workers-unmigrated');
    try {
      const startedAt = performance.now();
      const result = await runCli(['serve', '--workers', '2'], { DATABASE_URL: database.url, REDIS_URL: redisUrl, PORT: '0', HOST: '127.0.0.1' });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toMatch(/tollgate migrate/);
      // A restart loop never ends; a generous bound tells it apart from a slow start on a busy box.
      expect(result.stdout + result.stderr).toMatch(/a worker failed to start; stopping/);
      expect(performance.now() - startedAt).toBeLessThan(60_000);
    } finally {
      await database.drop();
    }
  }, 90_000);
});

describe.skipIf(!ready)('serve --workers 2 on Redis and Postgres', () => {
  let cluster: Cluster;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    cluster = await startCluster('workers', 0, {
      TOLLGATE_SERVER__WORKERS: '2',
      TOLLGATE_SERVER__OPS_PORT: '0',
      TOLLGATE_SERVER__DRAIN_TIMEOUT_MS: String(drainTimeoutMs),
      TOLLGATE_BUDGET__BUDGETS: JSON.stringify([{ scope: 'key', scopeId: '*', metric: 'requests', window: 'total', limit: requestsPerKey }]),
    });
    gateway = await spawnGateway(cluster.env);
    cluster.gateways.push(gateway);
    // spawnGateway returns on the first worker's "listening" line; wait for the second.
    for (const until = Date.now() + 20_000; listeningPids(gateway).length < 2 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers requests from two different worker processes on one port, and the ops port too', async () => {
    const { key } = await cluster.key('alice');
    await expect.poll(async () => (await chat(gateway.url, key)).status, { timeout: 2_000, interval: 50 }).toBe(200);
    for (let i = 0; i < 8; i++) expect((await chat(gateway.url, key)).status).toBe(200);
    const workers = new Set(listeningPids(gateway));
    expect(workers.size).toBe(2);
    expect(workers.has(gateway.child.pid!)).toBe(false);
    // Request log lines are flushed in blocks; poll until both workers' lines are out.
    await expect
      .poll(() => new Set(logLines(gateway).filter((l) => l.msg === 'request').map((l) => l.pid)), { timeout: 2_000, interval: 100 })
      .toEqual(workers);

    const opsPort = logLines(gateway).find((l) => l.msg === 'tollgate listening')!.opsPort!;
    for (let i = 0; i < 4; i++) {
      const res = await request(`http://127.0.0.1:${opsPort}/ready`, { reset: true });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
  });

  it('counts every worker in one scrape of /metrics: requests spread over both add up to the total', async () => {
    const { key } = await cluster.key('erin');
    // A request's log line is written after it is counted: once its line is out, it is counted.
    const logsBefore = logLines(gateway).length;
    const answered = () => logLines(gateway).slice(logsBefore).filter((l) => l.msg === 'request' && l.status === 200);
    await expect.poll(async () => (await chat(gateway.url, key)).status, { timeout: 2_000, interval: 50 }).toBe(200);
    await expect.poll(() => answered().length, { timeout: 5_000, interval: 100 }).toBe(1);
    const opsPort = logLines(gateway).find((l) => l.msg === 'tollgate listening')!.opsPort!;
    const before = await scrape(opsPort);
    expect(before.workers).toBe(2);
    const sent = 12;
    for (let i = 0; i < sent; i++) expect((await chat(gateway.url, key)).status).toBe(200);
    await expect.poll(() => answered().length, { timeout: 5_000, interval: 100 }).toBe(sent + 1);
    expect(new Set(answered().map((l) => l.pid)).size).toBe(2);
    // Every scrape, whichever worker takes it, sees all of them; histograms merge bucket by bucket.
    for (let i = 0; i < 4; i++) {
      const after = await scrape(opsPort);
      expect(after.ok - before.ok).toBe(sent);
      expect(after.workers).toBe(2);
      expect(after.text).toMatch(/^tollgate_gateway_overhead_seconds_count \d+$/m);
    }
  });

  it('fails a scrape with 500 internal_error while a worker cannot report, rather than answer with part of the counters', async () => {
    const opsPort = logLines(gateway).find((l) => l.msg === 'tollgate listening')!.opsPort!;
    const [victim] = listeningPids(gateway).filter(alive);
    const get = async () => {
      const res = await request(`http://127.0.0.1:${opsPort}/metrics`, { reset: true });
      return { status: res.statusCode, text: await res.body.text() };
    };
    process.kill(victim!, 'SIGSTOP');
    let scrapes: Array<Promise<{ status: number; text: string }>> = [];
    try {
      // Two connections, one per worker: the live one's scrape is refused once the collection
      // times out; the stopped one's waits for it to resume.
      scrapes = [get(), get()];
      const first = await Promise.race([...scrapes, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no scrape answered')), 10_000))]);
      expect(first.status).toBe(500);
      expect(JSON.parse(first.text)).toMatchObject({ error: { code: 'internal_error' } });
    } finally {
      process.kill(victim!, 'SIGCONT');
    }
    await Promise.all(scrapes);
    const after = await get();
    expect(after.status).toBe(200);
    expect(after.text).toMatch(/^tollgate_workers_scraped 2$/m);
  });

  it('keeps a budget exact across workers: a key allowed 20 requests gets exactly 20 of 60 concurrent ones', async () => {
    const { key } = await cluster.key('bob');
    const results = await Promise.all(Array.from({ length: requestsPerKey * 3 }, () => chat(gateway.url, key)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(requestsPerKey);
    expect(statuses.filter((s) => s === 429)).toHaveLength(requestsPerKey * 2);
    expect(JSON.parse(results.find((r) => r.status === 429)!.text)).toMatchObject({ error: { code: 'budget_exceeded' } });
  });

  it('replaces a worker that dies unexpectedly', async () => {
    const [victim] = listeningPids(gateway);
    process.kill(victim!, 'SIGKILL');
    await expect.poll(() => listeningPids(gateway).length, { timeout: 10_000, interval: 100 }).toBe(3);
    const { key } = await cluster.key('carol');
    await expect.poll(async () => (await chat(gateway.url, key)).status, { timeout: 2_000, interval: 50 }).toBe(200);
  });

  it('drains every worker on SIGTERM: an open stream finishes and all processes exit within the drain bound', async () => {
    const { key } = await cluster.key('dave');
    await expect.poll(async () => (await chat(gateway.url, key)).status, { timeout: 2_000, interval: 50 }).toBe(200);
    const workers = listeningPids(gateway).filter(alive);
    expect(workers).toHaveLength(2);
    const res = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...smallChat, stream: true, messages: [{ role: 'user', content: '[mock chunks=6 delay_ms=100]' }] }),
    });
    const stoppedAt = performance.now();
    const exit = gateway.stop('SIGTERM');
    const text = await res.body.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exit).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(drainTimeoutMs + 5_000);
    expect(workers.filter(alive)).toEqual([]);
    cluster.gateways.length = 0;
  });
});
