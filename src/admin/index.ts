// Builds the admin API from its parts; the composition root and the offline CLI both start here.
import { pino, type Logger } from 'pino';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { ParsedConfig } from '../config/schema.js';
import type { Db } from '../db/database.js';
import type { Metrics } from '../metrics/metrics.js';
import { type AdminAuthenticator, createAdminAuthenticator } from './authenticate.js';
import { type AdminHttpHandler, createAdminHttpHandler } from './http.js';
import { buildOpenApi } from './openapi.js';
import type { AdminSettings } from './route.js';
import { type AdminRouter, createAdminRouter } from './router.js';
import { adminRoutes } from './routes/index.js';

export interface AdminApiOptions {
  // Where refused admin requests are logged and counted; silent and uncounted when absent (the
  // offline CLI has neither).
  logger?: Logger | undefined;
  metrics?: Pick<Metrics, 'adminDenials'> | undefined;
  analytics?: AdminSettings['analytics'];
  alerts?: AdminSettings['alerts'];
  alertRules?: AdminSettings['alertRules'];
  // The web console's cookie to an Actor, for requests that carry no credential of their own.
  sessionActor?: AdminAuthenticator | undefined;
}

export function createAdminApi(db: Db, bus: InvalidationBus, config: ParsedConfig['admin'], options: AdminApiOptions = {}): { router: AdminRouter; http: AdminHttpHandler } {
  const router = createAdminRouter({ db, bus, settings: { rotationGraceMs: config.rotationGraceMs, maxKeysPerUser: config.maxKeysPerUser, analytics: options.analytics, alerts: options.alerts, alertRules: options.alertRules }, routes: adminRoutes });
  const http = createAdminHttpHandler({
    authenticate: createAdminAuthenticator(db, config.jwt, options.sessionActor),
    router,
    openapi: buildOpenApi(adminRoutes),
    logger: options.logger ?? pino({ enabled: false }),
    denials: options.metrics?.adminDenials ?? { inc: () => {} },
  });
  return { router, http };
}
