// What /ready says about Redis. Standalone and Sentinel: the server answers. A Cluster with a
// master away still serves every org on the other masters, and every replica sees the same
// outage, so failing readiness would pull the whole service out of rotation for the orgs of one
// node: the replica stays ready, reported degraded, and is not ready only when no master answers.
import { Cluster } from 'ioredis';
import type { ReadinessCheck } from '../server/gateway.js';
import type { RedisClient } from './connect.js';

export function redisReadiness(redis: RedisClient): ReadinessCheck[] {
  if (!(redis instanceof Cluster)) return [{ name: 'redis', check: async () => void (await redis.ping()) }];
  return [
    { name: 'redis', check: async () => void (await Promise.any(redis.nodes('master').map((node) => node.ping()))) },
    {
      name: 'redis-cluster',
      degradesOnly: true,
      check: async () => {
        const failing = /cluster_slots_p?fail:([1-9]\d*)/.exec(await redis.cluster('INFO'));
        if (failing) throw new Error(`${failing[1]} hash slots are on a master that is down`);
      },
    },
  ];
}
