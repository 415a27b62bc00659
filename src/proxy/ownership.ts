// Who owns each provider-side object created through the pass-through (upstream_objects). Read on
// every pass-through call naming an object: these calls are off the metered hot path, and the
// answer must be current across replicas (an object created on one is read on another), so it is
// asked of the database rather than of a cache.
import { and, eq } from 'drizzle-orm';
import { upstreamObjects } from '../../drizzle/schema/index.js';
import type { Db } from '../db/database.js';
import type { ObjectKind } from './passthrough-routes.js';

export interface ObjectRef {
  readonly provider: string;
  readonly kind: ObjectKind;
  readonly objectId: string;
}

export interface Ownership {
  owns(orgId: string, ref: ObjectRef): Promise<boolean>;
  record(orgId: string, ref: ObjectRef): Promise<void>;
}

export function createOwnership(db: Db): Ownership {
  return {
    async owns(orgId, { provider, kind, objectId }) {
      const rows = await db
        .select({ orgId: upstreamObjects.orgId })
        .from(upstreamObjects)
        .where(and(eq(upstreamObjects.provider, provider), eq(upstreamObjects.kind, kind), eq(upstreamObjects.objectId, objectId)))
        .limit(1);
      return rows[0]?.orgId === orgId;
    },
    async record(orgId, { provider, kind, objectId }) {
      // Ids are unique upstream; a repeat (a retried create answered with the same id) keeps the first owner.
      await db.insert(upstreamObjects).values({ provider, kind, objectId, orgId }).onConflictDoNothing();
    },
  };
}
