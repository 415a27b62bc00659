// The composition root: opens the stores a configuration names, builds the request path and
// starts listening. The CLI's `serve` and the end-to-end tests both start Tollgate through here.
import { availableParallelism } from 'node:os';
import { createLocalInvalidationBus, createRedisInvalidationBus, type InvalidationBus } from './auth/invalidation.js';
import { createPrincipalCache, type PrincipalCache } from './auth/principal-cache.js';
import { waitForKeyFilter } from './auth/key-filter-gate.js';
import type { Principal } from './auth/principal.js';
import type { RuntimeConfig } from './config/load.js';
import { openDatabase, type Database } from './db/database.js';
import { createLogger, type Logger } from './log/logger.js';
import { connectRedis, type RedisClient } from './redis/connect.js';
import { redisReadiness } from './redis/readiness.js';
import { createBudgetMeter } from './metering/budget-meter.js';
import { createMediaMeter } from './metering/media-meter.js';
import { watchBudgetRules } from './metering/budget-rules.js';
import { watchIpAllowLists } from './auth/ip-allow-policy.js';
import { traceBudgetEngine, tracePromptCounter } from './tracing/instrument.js';
import { createTracer } from './tracing/tracer.js';
import { startBudgets } from './metering/budgets.js';
import { startUsagePipeline } from './metering/usage-pipeline.js';
import { usageStatus } from './metering/usage-status.js';
import { usageHistory } from './analytics/usage-history.js';
import { ledgerTotals } from './usage/ledger-totals.js';
import { orgIdsFrom } from './usage/org-ids.js';
import { startUsageMaintenance } from './usage/partition-maintenance.js';
import { createMetrics } from './metrics/metrics.js';
import { createOwnership } from './proxy/ownership.js';
import { unmeteredUsageEvent } from './proxy/unmetered-event.js';
import { createUpstreams } from './proxy/upstreams.js';
import { createTokenizerPool } from './tokens/pool.js';
import { registerPoolMetrics } from './tokens/pool-metrics.js';
import { createPromptCounter } from './tokens/prompt-counter.js';
import { createGateway, type ReadinessCheck } from './server/gateway.js';
import { createAdminApi } from './admin/index.js';
import { createAdminAuthenticator } from './admin/authenticate.js';
import { createConsole } from './console/handler.js';
import { createMemorySessionStore, createRedisSessionStore } from './console/session-store.js';
import { createConsoleSessions } from './console/sessions.js';
import { createOidcLogin } from './console/oidc-login.js';
import { loadStaticAssets } from './console/static-assets.js';
import { startAlerts, type Alerts } from './alerts/index.js';
import { getPreferences, putPreferences } from './alerts/personal-thresholds.js';
import { startAlertRules } from './alerts/rules-runtime.js';
import { startDigests } from './reports/digest-runner.js';
import { registerBootstrapKey } from './control/admin-keys.js';
import { createLastUsedTracker, trackingLastUse } from './control/last-used.js';
import { createResponseCache } from './cache/response-cache.js';

export interface App {
  readonly url: string;
  readonly port: number;
  // The operational endpoints' port when server.opsPort is set.
  readonly opsPort: number | undefined;
  readonly config: RuntimeConfig;
  readonly database: Database;
  readonly redis: RedisClient | undefined;
  readonly bus: InvalidationBus;
  readonly principals: PrincipalCache;
  readonly alerts: Alerts;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  // Registered as an admin key at startup (TOLLGATE_ADMIN_KEY when not given).
  adminKey?: string | undefined;
}

export async function startApp(config: RuntimeConfig, options: StartOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.log.level);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  // The embedded database belongs to this process alone, so it can be brought up to date here;
  // a shared Postgres is migrated deliberately (`tollgate migrate`) before replicas start.
  if (database.kind === 'pglite') await database.migrate();
  else await database.assertMigrated();

  const redis = connectRedis(config);
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const bus = redis ? createRedisInvalidationBus(redis, config.redisKeyPrefix) : createLocalInvalidationBus();
  const principals = await createPrincipalCache({
    db: database.db,
    bus,
    maxEntries: config.auth.cacheMaxEntries,
    negativeMaxEntries: config.auth.negativeCacheMaxEntries,
    negativeTtlMs: config.auth.negativeCacheTtlMs,
    changePollMs: config.auth.changePollMs,
    lookupTimeoutMs: config.auth.lookupTimeoutMs,
    onError: (err) => logger.error({ err }, 'principal cache update failed'),
  });
  // Awaited just before listening, so the rest of startup runs while the filter builds.
  const keyFilter = waitForKeyFilter(principals, logger);
  const adminKey = options.adminKey ?? process.env.TOLLGATE_ADMIN_KEY;
  if (adminKey) await registerBootstrapKey(database.db, { actor: { type: 'cli', id: 'TOLLGATE_ADMIN_KEY', role: 'admin', userId: null }, requestId: 'startup' }, adminKey);
  const metrics = createMetrics();
  // What a key reads and sets about itself: /v1/usage, /v1/usage/history, /v1/alerts/preferences,
  // and the same for the console's self-service view.
  const selfService = {
    usageStatus: (principal: Principal, sessionId: string | null) => usageStatus(usageStatusDeps, principal, sessionId, Date.now()),
    usageHistory: (principal: Principal, query: URLSearchParams) => usageHistory(database.db, principal, query, Date.now()),
    ...(config.alerts.enabled
      ? { alertPreferences: (principal: Principal, update: unknown) => (update === undefined ? getPreferences(database.db, principal) : putPreferences(database.db, principal, update, config.alertRules.personal.maxThresholds)) }
      : {}),
  };
  const consoleApp = config.console.enabled
    ? createConsole({
        sessions: createConsoleSessions({
          store: redis ? createRedisSessionStore(redis, config.redisKeyPrefix) : createMemorySessionStore(config.console.maxSessions),
          db: database.db,
          principals,
          verifyAdmin: createAdminAuthenticator(database.db, config.admin.jwt),
          ttlMs: config.console.sessionTtlMs,
          hostOnlyCookie: config.console.secureCookie === 'always',
        }),
        assets: loadStaticAssets(),
        secureCookie: config.console.secureCookie,
        logger,
        denials: metrics.adminDenials,
        oidc: config.console.oidc ? createOidcLogin(config.console.oidc, config.admin.jwt) : undefined,
        ...selfService,
      })
    : undefined;
  const admin = createAdminApi(database.db, bus, config.admin, {
    logger, metrics, analytics: { catalog: config.catalog, configRules: config.budget.budgets, config: config.analytics }, alerts: config.alerts, alertRules: config.alertRules, sessionActor: consoleApp?.sessionActor,
  });
  const lastUsed = createLastUsedTracker(database.db, config.admin.lastUsedFlushMs, (err) => logger.warn({ err }, 'last_used_at flush failed'));
  const upstreams = createUpstreams(config);
  const pool = createTokenizerPool({
    maxThreads: config.tokens.poolThreads || Math.max(1, availableParallelism() - 1),
    maxQueue: config.tokens.poolMaxQueue,
    taskTimeoutMs: config.tokens.poolTaskTimeoutMs,
  });
  registerPoolMetrics(metrics.registry, pool, config.tokens.poolMaxQueue);
  const tracer = createTracer(config.tracing, (err) => logger.warn({ err: err.message }, 'sending spans to the OTLP collector failed; they were dropped'));
  const untracedCounter = createPromptCounter({ inlineMaxChars: config.tokens.inlineMaxChars, pool });
  const counter = tracer ? tracePromptCounter(untracedCounter) : untracedCounter;
  const usage = startUsagePipeline({ config, database, redis, registry: metrics.registry, logger });
  const usageMaintenance = startUsageMaintenance({ db: database.db, config: config.usage, logger });
  const budgets = startBudgets({ config, redis, usage, logger, listOrgIds: orgIdsFrom(database), ledger: ledgerTotals(database.db), metrics });
  const budgetRules = await watchBudgetRules({ db: database.db, bus, budgets, fromConfig: config.budget, refreshMs: config.auth.cacheRefreshMs, logger });
  const ipAllow = await watchIpAllowLists({ db: database.db, bus, trustedProxies: config.network.trustedProxies, refreshMs: config.network.ipAllowRefreshMs, logger });
  // Scheduled report digests go out through the alert channels and outbox, once per period
  // fleet-wide; their own switch starts the outbox sender for them when alerts are off.
  const alerts = startAlerts({ db: database.db, config: config.alerts, logger, registry: metrics.registry, deliverOthers: config.reports.digestsEnabled });
  const digests = config.reports.digestsEnabled ? startDigests({ db: database.db, config: config.reports, logger, analytics: { catalog: config.catalog, configRules: config.budget.budgets } }) : undefined;
  const meteringEngine = tracer ? traceBudgetEngine(budgets.engine) : budgets.engine;
  const meter = createBudgetMeter({ counter, engine: meteringEngine, logger, metrics, ...(config.alerts.enabled ? { onCrossing: alerts.budget.onCrossing } : {}) });
  const mediaMeter = createMediaMeter({ engine: meteringEngine, logger, metrics, ...(config.alerts.enabled ? { onCrossing: alerts.budget.onCrossing } : {}) });

  // A shared Postgres being down only degrades: the request path never touches it (usage waits in
  // the Redis streams), and failing readiness would pull every replica out of rotation at once.
  const readiness: ReadinessCheck[] = [{ name: database.kind, degradesOnly: database.kind === 'postgres', check: () => database.ping() }];
  if (redis) readiness.push(...redisReadiness(redis));
  readiness.push({ name: 'usage', degradesOnly: true, check: async () => usage.check() });

  const alertRules = config.alerts.enabled
    ? startAlertRules({
        config: config.alertRules,
        sink: alerts.sink,
        db: database.db,
        redis,
        databaseUrl: database.kind === 'postgres' ? config.databaseUrl : undefined,
        keyPrefix: config.redisKeyPrefix,
        registry: metrics.registry,
        logger,
        providerOf: (model) => config.catalog.resolve(model)?.provider,
        tokenizer: () => ({ queued: pool.queued, maxQueue: config.tokens.poolMaxQueue }),
        storeChecks: readiness.filter((check) => check.name !== 'usage'),
        configRules: config.budget.budgets,
        budgets: { plan: budgets.plan, readCounters: budgets.readCounters },
      })
    : undefined;

  const usageStatusDeps = { db: database.db, plan: budgets.plan, readCounters: budgets.readCounters };
  const responseCache = createResponseCache({
    config: config.responseCache,
    redis,
    keyPrefix: config.redisKeyPrefix,
    record: usage.push,
    onError: (err) => logger.warn({ err: err.message }, 'response cache store failed; served as a miss'),
  });
  const gateway = createGateway({
    config,
    principals: trackingLastUse(principals, lastUsed),
    upstreams,
    meter,
    mediaMeter,
    counter,
    metrics,
    logger,
    readiness,
    admin: admin.http,
    ...selfService,
    console: consoleApp?.handle,
    ownership: createOwnership(database.db),
    // Any bucket at all, a session one included (hence a stand-in session id), counts as a budget.
    budgetApplies: (principal) => budgets.plan(principal, 'passthrough', Date.now()).length > 0,
    recordUnmetered: (call) => usage.push(unmeteredUsageEvent(call, Date.now())),
    ...(responseCache ? { responseCache } : {}),
    ipAllow,
    ...(tracer ? { tracer } : {}),
  });
  await keyFilter;
  const port = await gateway.listen(config.server.port, config.server.host);
  const opsPort = config.server.opsPort === undefined ? undefined : await gateway.listenOps(config.server.opsPort, config.server.host);
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  logger.info({ port, opsPort, database: database.kind, redis: Boolean(redis), models: config.catalog.list().length }, 'tollgate listening');

  return {
    url: `http://${host}:${port}`,
    port,
    opsPort,
    config,
    database,
    redis,
    bus,
    principals,
    alerts,
    logger,
    async close() {
      await gateway.drain(config.server.drainTimeoutMs);
      // After the drain, so the crossings of the last settled requests are stored; their notices wait in the outbox.
      await alertRules?.stop();
      await digests?.stop();
      await alerts.stop();
      principals.close();
      budgetRules.stop();
      ipAllow.stop();
      await tracer?.close();
      await lastUsed.close();
      await budgets.stop();
      await usage.stop();
      await usageMaintenance.stop();
      await pool.close();
      await upstreams.close();
      await bus.close();
      redis?.disconnect();
      await database.close();
    },
  };
}
