// Builds the admin API from its parts; the composition root and the offline CLI both start here.
import type { InvalidationBus } from '../auth/invalidation.js';
import type { ParsedConfig } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { createAdminAuthenticator } from './authenticate.js';
import { type AdminHttpHandler, createAdminHttpHandler } from './http.js';
import { buildOpenApi } from './openapi.js';
import { type AdminRouter, createAdminRouter } from './router.js';
import { adminRoutes } from './routes/index.js';

export function createAdminApi(db: Db, bus: InvalidationBus, config: ParsedConfig['admin']): { router: AdminRouter; http: AdminHttpHandler } {
  const router = createAdminRouter({ db, bus, settings: { rotationGraceMs: config.rotationGraceMs }, routes: adminRoutes });
  const http = createAdminHttpHandler({ authenticate: createAdminAuthenticator(db, config.jwt), router, openapi: buildOpenApi(adminRoutes) });
  return { router, http };
}
