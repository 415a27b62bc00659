// Which org created each provider-side object (file, batch, ...) through the pass-through. The
// provider project is shared by every tenant, so this table is the only thing that says whose
// object an id is: reads, deletes and sub-paths of an object are refused to every other org.
import { index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const upstreamObjects = pgTable(
  'upstream_objects',
  {
    // The configured provider name (server.passthrough.provider) the object lives at.
    provider: text('provider').notNull(),
    // An objectKinds value of src/proxy/passthrough-routes.ts.
    kind: text('kind').notNull(),
    objectId: text('object_id').notNull(),
    orgId: text('org_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.kind, t.objectId] }), index('upstream_objects_org_idx').on(t.orgId)],
);
