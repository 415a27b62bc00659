// Tells every replica that principals changed. With Redis, a pub/sub channel; without it (one
// embedded process), an in-process emitter. Messages name what to reload, never key material.
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { RedisClient } from '../redis/connect.js';

export const invalidationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('key'), id: z.string() }),
  z.object({ kind: z.literal('user'), id: z.string() }),
  z.object({ kind: z.literal('all') }),
  // Budget rules changed in the control plane: every replica reloads them from Postgres.
  z.object({ kind: z.literal('budgets') }),
]);
export type Invalidation = z.infer<typeof invalidationSchema>;

export interface InvalidationBus {
  publish(message: Invalidation): Promise<void>;
  subscribe(listener: (message: Invalidation) => void): Promise<void>;
  close(): Promise<void>;
}

export const invalidationChannel = (keyPrefix: string): string => `${keyPrefix}invalidate`;

export function createLocalInvalidationBus(): InvalidationBus {
  const emitter = new EventEmitter();
  return {
    async publish(message) {
      emitter.emit('message', message);
    },
    async subscribe(listener) {
      emitter.on('message', listener);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

// `publisher` is the shared command connection; a subscriber connection is duplicated from it
// because a Redis connection in subscribe mode can run no other command. On a Redis Cluster a
// PUBLISH reaches every node, and ioredis keeps the subscription on one node of its choosing.
export function createRedisInvalidationBus(publisher: RedisClient, keyPrefix: string): InvalidationBus {
  const channel = invalidationChannel(keyPrefix);
  let subscriber: RedisClient | undefined;
  return {
    async publish(message) {
      await publisher.publish(channel, JSON.stringify(message));
    },
    async subscribe(listener) {
      if (!subscriber) {
        subscriber = publisher.duplicate();
        // Same server as the publisher, whose errors the app already logs; without a listener
        // ioredis writes "Unhandled error event" and a stack to stderr on every reconnect attempt.
        subscriber.on('error', () => {});
      }
      // Messages sent while the subscriber was reconnecting are lost: reload everything instead.
      let connectedBefore = false;
      subscriber.on('ready', () => {
        if (connectedBefore) listener({ kind: 'all' });
        connectedBefore = true;
      });
      // A Cluster moves its subscription to another node without a new 'ready' when the node it
      // used leaves; the node leaving the pool is the sign that messages may have been missed.
      subscriber.on('-node', () => listener({ kind: 'all' }));
      subscriber.on('message', (ch: string, text: string) => {
        if (ch !== channel) return;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          return;
        }
        const parsed = invalidationSchema.safeParse(json);
        if (parsed.success) listener(parsed.data);
      });
      await subscriber.subscribe(channel);
    },
    async close() {
      subscriber?.disconnect();
    },
  };
}
