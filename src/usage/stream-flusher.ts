// Moves usage events from the per-org Redis Streams into the Postgres ledger. Every replica runs
// one: it reads through a consumer group, writes batches exactly once (see ledger.ts) and
// acknowledges only after commit, so a crash at any point leaves entries pending, to be claimed
// (XAUTOCLAIM) and rewritten harmlessly. While Postgres is down it stops reading and events wait
// in Redis: that is the back-pressure, and the request path never notices.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import type { UsageConfig } from './config.js';
import { parseUsageEvent, type UsageEvent } from './event.js';
import type { UsageLag } from './lag.js';
import { writeUsageEvents } from './ledger.js';
import { createUsageMetrics } from './metrics.js';
import { createBackoff, every, sleep } from './retry.js';
import { createUsageStreams, entryTimeMs, usageStreamKey, type RedisClient, type StreamEntry } from './streams.js';

export interface StreamFlusherOptions {
  redis: RedisClient;
  keyPrefix: string;
  database: Pick<Database, 'db'>;
  // Org ids from the control plane; one usage stream per org. Reloaded every orgRefreshMs.
  listOrgIds: () => Promise<string[]>;
  config: UsageConfig;
  registry: Registry;
  logger: Logger;
  // Unique per process; defaults to hostname-pid-random.
  consumerName?: string;
}

export interface StreamFlusher {
  start(): Promise<void>;
  // Finishes the batch in hand (if Postgres takes it) and returns; whatever is left stays
  // pending in Redis for another replica, so stopping never loses an event.
  stop(): Promise<void>;
  lag(): UsageLag;
}

// An entry and the events it holds (one from a per-request settle, up to 128 from a batch), each
// with its JSON for the dead-letter stream.
interface Parsed {
  entry: StreamEntry;
  events: Array<{ event: UsageEvent; payload: string }>;
}

// Entries read per stream and round: an entry holds 1 to 128 events, so a round reads between
// perStream / 8 and 16 × perStream events (perStream = batchSize × writeConcurrency), bounded
// however the stream was written.
const entriesPerRead = (perStream: number): number => Math.max(1, Math.floor(perStream / 8));

export function createStreamFlusher(options: StreamFlusherOptions): StreamFlusher {
  const { redis, keyPrefix, database, listOrgIds, config } = options;
  const consumer = options.consumerName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = options.logger.child({ component: 'usage-flusher', consumer });
  const metrics = createUsageMetrics(options.registry);
  const streams = createUsageStreams(redis, config.consumerGroup, consumer);
  const keys = new Set<string>();
  const stopping = new AbortController();
  const postgres = healthLog(log, 'Postgres');
  const redisHealth = healthLog(log, 'Redis');
  let lag: UsageLag = { streamLength: 0, oldestPendingMs: 0 };
  let nextClaimAtMs = 0;
  let loop: Promise<void> | undefined;
  let timers: Array<{ stop(): Promise<void> }> = [];

  // A stream whose group cannot be created now (its Cluster node is away) is tried again on the
  // next refresh; the other orgs' streams are added meanwhile.
  async function refreshOrgs(): Promise<void> {
    try {
      const fresh = (await listOrgIds()).map((orgId) => usageStreamKey(keyPrefix, orgId)).filter((key) => !keys.has(key));
      const results = await Promise.allSettled(fresh.map(async (key) => {
        await streams.ensureGroup(key);
        keys.add(key);
      }));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      log.warn({ err: error }, 'could not refresh the usage streams; keeping the known ones');
    }
  }

  // Runs op on every known stream concurrently; a stream that fails is skipped this round.
  async function onEveryStream<T>(op: (key: string) => Promise<T>): Promise<T[]> {
    const results = await Promise.allSettled([...keys].map(async (key) => {
      try {
        return await op(key);
      } catch (error) {
        // Redis lost the group (restart without persistence): recreate it from the start.
        if (String(error).includes('NOGROUP')) await streams.ensureGroup(key);
        throw error;
      }
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      metrics.errors.inc({ stage: 'redis' });
      redisHealth.fail(failed.reason);
    } else {
      redisHealth.ok();
    }
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  // One round: claim from dead consumers when due, read what is new, write and acknowledge.
  // Returns true when a stream had more than one round can take, so the next starts at once.
  async function round(): Promise<boolean> {
    const entries: StreamEntry[] = [];
    let more = false;
    const perStream = config.batchSize * config.writeConcurrency;
    const count = entriesPerRead(perStream);
    if (Date.now() >= nextClaimAtMs) {
      const claims = await onEveryStream((key) => streams.claimIdle(key, config.claimIdleMs, count));
      for (const claim of claims) entries.push(...claim.entries);
      metrics.claimed.inc(claims.reduce((n, c) => n + c.entries.reduce((k, e) => k + e.payloads.length, 0), 0));
      more = claims.some((c) => c.more);
      if (!more) nextClaimAtMs = Date.now() + config.claimIdleMs / 2;
    }
    // Enough from each stream to keep every writer busy even when one org has all the traffic.
    // Reading is bounded by writing: nothing more is read until this round is acknowledged.
    for (const fresh of await onEveryStream((key) => streams.readNew(key, count))) {
      entries.push(...fresh);
      more ||= fresh.length >= count;
    }
    await flush(entries);
    return more;
  }

  // An entry is acknowledged once all its events are written or dead-lettered; one whose
  // dead-lettering failed stays pending, to be claimed and tried again.
  async function flush(entries: readonly StreamEntry[]): Promise<void> {
    const parsed: Parsed[] = [];
    const settled: StreamEntry[] = [];
    for (const entry of entries) {
      const events: Parsed['events'] = [];
      let kept = true;
      for (const payload of entry.payloads) {
        const event = parseEvent(payload);
        if (event) events.push({ event, payload });
        else kept = (await reject(entry, payload, 'invalid', 'not a valid usage event')) && kept;
      }
      if (entry.payloads.length === 0) kept = await reject(entry, '', 'invalid', 'no usage event in the entry');
      if (!kept) continue;
      if (events.length > 0) parsed.push({ entry, events });
      else settled.push(entry);
    }
    await acknowledge(settled);
    // Batches of whole entries, so an entry is acknowledged after one write.
    const batches: Parsed[][] = [];
    let size = config.batchSize;
    for (const p of parsed) {
      if (size >= config.batchSize) {
        batches.push([]);
        size = 0;
      }
      batches.at(-1)!.push(p);
      size += p.events.length;
    }
    const writer = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        const rejected = await write(batch.flatMap((p) => p.events.map((e) => e.event)));
        // Abandoned on stop: this batch and the rest stay pending in Redis.
        if (!rejected) return;
        const refused = new Map(rejected.map((r) => [r.event, r.error]));
        const done: StreamEntry[] = [];
        for (const { entry, events } of batch) {
          let kept = true;
          for (const { event, payload } of events) {
            if (refused.has(event)) kept = (await reject(entry, payload, 'refused', String(refused.get(event)))) && kept;
          }
          if (kept) done.push(entry);
        }
        await acknowledge(done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.writeConcurrency, batches.length) }, writer));
  }

  // Retries until Postgres takes the batch; gives up only when stopping.
  async function write(batch: readonly UsageEvent[]) {
    const backoff = createBackoff(config.retryMaxMs);
    for (;;) {
      const endTimer = metrics.batchDuration.startTimer();
      try {
        const result = await writeUsageEvents(database.db, batch);
        endTimer();
        metrics.flushed.inc(result.inserted);
        metrics.duplicates.inc(batch.length - result.inserted - result.rejected.length);
        postgres.ok();
        return result.rejected;
      } catch (error) {
        metrics.errors.inc({ stage: 'postgres' });
        postgres.fail(error);
        if (stopping.signal.aborted) return undefined;
        await sleep(backoff.next(), stopping.signal);
      }
    }
  }

  // An ack lost here leaves the entries pending; they are claimed later and skipped as duplicates.
  async function acknowledge(entries: readonly StreamEntry[]): Promise<void> {
    const idsByKey = new Map<string, string[]>();
    for (const { key, id } of entries) {
      const ids = idsByKey.get(key) ?? [];
      ids.push(id);
      idsByKey.set(key, ids);
    }
    await Promise.all([...idsByKey].map(async ([key, ids]) => {
      try {
        await streams.ack(key, ids);
      } catch (error) {
        metrics.errors.inc({ stage: 'redis' });
        log.warn({ err: error, key }, 'could not acknowledge flushed usage entries; they will be claimed again');
      }
    }));
  }

  // Events that can never be written go to the dead-letter stream so they stop blocking the group;
  // false when that failed (the entry then stays pending).
  async function reject(entry: StreamEntry, payload: string, reason: 'invalid' | 'refused', detail: string): Promise<boolean> {
    metrics.rejected.inc({ reason });
    log.error({ key: entry.key, id: entry.id, reason, detail }, 'usage event cannot be written; moved to the dead-letter stream');
    try {
      await streams.deadLetter(entry, payload, `${reason}: ${detail}`);
      return true;
    } catch (error) {
      metrics.errors.inc({ stage: 'redis' });
      log.warn({ err: error, id: entry.id }, 'could not dead-letter a usage event; its entry will be claimed again');
      return false;
    }
  }

  async function measure(): Promise<void> {
    const states = await onEveryStream((key) => streams.state(key, config.trim, config.claimIdleMs * 2));
    if (states.length < keys.size) return;
    lag = {
      streamLength: states.reduce((n, s) => n + s.length, 0),
      oldestPendingMs: Math.max(0, ...states.map((s) => (s.oldestId ? s.nowMs - entryTimeMs(s.oldestId) : 0))),
    };
    metrics.streamLength.set(lag.streamLength);
    metrics.oldestPendingAge.set(lag.oldestPendingMs / 1000);
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      let more = false;
      try {
        more = await round();
      } catch (error) {
        log.error({ err: error }, 'usage flush round failed');
      }
      if (!more) await sleep(config.flushIntervalMs, stopping.signal);
    }
  }

  return {
    async start() {
      await refreshOrgs();
      await measure();
      loop = run();
      timers = [every(config.orgRefreshMs, refreshOrgs), every(config.monitorIntervalMs, measure)];
      log.info({ streams: keys.size }, 'usage flusher started');
    },
    async stop() {
      stopping.abort();
      await Promise.all([loop, ...timers.map((t) => t.stop())]);
      log.info('usage flusher stopped');
    },
    lag: () => lag,
  };
}

function parseEvent(payload: string): UsageEvent | undefined {
  try {
    return parseUsageEvent(JSON.parse(payload));
  } catch {
    return undefined;
  }
}

// Logs an outage once when it starts and once when it ends, not on every retry.
function healthLog(log: Logger, store: string): { fail(error: unknown): void; ok(): void } {
  let failing = false;
  return {
    fail(error) {
      if (!failing) log.warn({ err: error }, `${store} unavailable; usage events wait in the stream`);
      failing = true;
    },
    ok() {
      if (failing) log.info(`${store} is back; flushing the backlog`);
      failing = false;
    },
  };
}
