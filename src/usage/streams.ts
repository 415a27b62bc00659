// The Redis side of the usage pipeline: one stream per org (hash tag {org:<id>}, so Redis Cluster
// keeps each org's keys in one slot and nothing spans slots), read through a consumer group.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

// The budget store XADDs usage to usageStreamKey (owned by the key layout in budget/keys.ts), each
// field `e` a UsageEvent as JSON: one per entry from a per-request settle, a batch's worth in one
// entry from a slice flush or an append (one entry costs Redis one add, delivery and ack however
// many events it holds). It must not trim with MAXLEN: the flusher trims only acknowledged entries.
export { usageStreamKey } from '../budget/keys.js';

// Entries that can never be written, kept for inspection. Bounded, since nothing consumes them.
const deadLetterKey = (streamKey: string): string => `${streamKey}:dead`;
const deadLetterMaxLen = 10_000;

export interface StreamEntry {
  key: string;
  id: string;
  // Every `e` field, in order; empty when the entry has none.
  payloads: string[];
}

export interface StreamState {
  length: number;
  // Oldest entry the group has not acknowledged (pending or not yet delivered).
  oldestId: string | null;
  nowMs: number;
}

export interface UsageStreams {
  // Creates the group at the start of the stream, so entries written before it are delivered.
  ensureGroup(key: string): Promise<void>;
  readNew(key: string, count: number): Promise<StreamEntry[]>;
  // Takes over entries idle longer than minIdleMs; `more` when a full page came back.
  claimIdle(key: string, minIdleMs: number, count: number): Promise<{ entries: StreamEntry[]; more: boolean }>;
  ack(key: string, ids: readonly string[]): Promise<void>;
  // One event of an entry (or the entry, when it has none), with why.
  deadLetter(entry: StreamEntry, payload: string, reason: string): Promise<void>;
  // Measures, trims acknowledged entries and prunes dead consumers, atomically per stream.
  state(key: string, trim: boolean, pruneIdleMs: number): Promise<StreamState>;
}

const stateScript = readFileSync(new URL('./stream-state.lua', import.meta.url), 'utf8');

interface WithStateScript {
  tollgateUsageStreamState(key: string, group: string, trim: string, pruneIdleMs: number): Promise<[number, string | null, number]>;
}

type RawEntry = [id: string, fields: string[] | null];

export function createUsageStreams(redis: RedisClient, group: string, consumer: string): UsageStreams {
  redis.defineCommand('tollgateUsageStreamState', { numberOfKeys: 1, lua: stateScript });
  const scripted = redis as RedisClient & WithStateScript;

  const toEntry = (key: string, [id, fields]: RawEntry): StreamEntry => {
    const payloads: string[] = [];
    if (fields) for (let at = 0; at + 1 < fields.length; at += 2) if (fields[at] === 'e') payloads.push(fields[at + 1]!);
    return { key, id, payloads };
  };

  return {
    async ensureGroup(key) {
      try {
        await redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
      } catch (error) {
        if (!String(error).includes('BUSYGROUP')) throw error;
      }
    },

    async readNew(key, count) {
      const reply = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, '>')) as
        | Array<[string, RawEntry[]]>
        | null;
      return reply?.[0]?.[1].map((raw) => toEntry(key, raw)) ?? [];
    },

    async claimIdle(key, minIdleMs, count) {
      const [, raw] = (await redis.xautoclaim(key, group, consumer, minIdleMs, '0-0', 'COUNT', count)) as [string, RawEntry[]];
      // Redis 7 drops entries deleted from the stream from the PEL itself and leaves them out.
      return { entries: raw.filter(([, fields]) => fields !== null).map((r) => toEntry(key, r)), more: raw.length >= count };
    },

    async ack(key, ids) {
      if (ids.length > 0) await redis.xack(key, group, ...ids);
    },

    async deadLetter(entry, payload, reason) {
      await redis.xadd(deadLetterKey(entry.key), 'MAXLEN', '~', deadLetterMaxLen, '*', 'id', entry.id, 'e', payload, 'reason', reason);
    },

    async state(key, trim, pruneIdleMs) {
      const [length, oldestId, nowMs] = await scripted.tollgateUsageStreamState(key, group, trim ? '1' : '0', pruneIdleMs);
      return { length, oldestId, nowMs };
    },
  };
}

// Milliseconds part of a stream id: when Redis appended the entry.
export const entryTimeMs = (id: string): number => Number(id.slice(0, id.indexOf('-')));
