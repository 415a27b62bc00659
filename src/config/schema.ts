// The shape of config/tollgate.yaml after env overrides: every option, its default and its limits.
import { z } from 'zod';
import { modelKinds, priceSchema, unitsSchema } from '../pricing/price-schema.js';
import { alertsSchema } from '../alerts/config.js';
import { analyticsSchema } from '../analytics/config.js';
import { alertRulesSchema } from '../alerts/rules-config.js';
import { reportsSchema } from '../reports/config.js';
import { budgetConfigSchema } from '../budget/rules.js';
import { corsSchema } from '../http/cors.js';
import { networkSchema } from '../auth/ip-allow-list.js';
import { tracingSchema } from '../tracing/config.js';
import { passthroughSchema } from '../proxy/passthrough-routes.js';
import { usageSchema } from '../usage/config.js';
import { bedrockRegion } from '../providers/bedrock/request.js';
import { presetNames } from '../providers/presets.js';

const positiveInt = z.number().int().positive();

export const providerSchema = z.object({
  // Which wire protocol the upstream speaks; OpenAI-compatible servers (vLLM, Ollama, Azure) are 'openai'.
  kind: z.enum(['openai', 'anthropic', 'gemini', 'bedrock']),
  // An OpenAI-compatible service whose base URL, key variable and unknown-model policy are filled
  // in (src/providers/presets.ts); the provider's own fields win.
  preset: z.enum(presetNames).optional(),
  baseUrl: z.url(),
  apiKey: z.string().optional(),
  // Azure-style differences: the credential header and its scheme, extra query parameters,
  // and a path template where {deployment} is the upstream model name.
  authHeader: z.string().optional(),
  authScheme: z.string().optional(),
  query: z.record(z.string(), z.string()).default({}),
  pathTemplate: z.string().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  anthropicVersion: z.string().default('2023-06-01'),
  // The AWS region Bedrock requests are signed for; defaults to the one a bedrock-runtime host names.
  region: z.string().regex(/^[a-z0-9-]+$/, 'region must be an AWS region name such as us-east-1').optional(),
  connections: positiveInt.default(128),
  // A model the catalog lacks, asked for as PROVIDER/MODEL: refused (404), or priced at this
  // default and its ledger rows marked estimated (OpenAI-compatible servers with many local models).
  unknownModels: z
    .object({
      policy: z.enum(['refuse', 'estimate']).default('refuse'),
      price: priceSchema.optional(),
      encoding: z.enum(['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base', 'estimate']).default('estimate'),
      contextWindow: positiveInt.default(128_000),
      maxOutputTokens: positiveInt.default(4_096),
    })
    .refine((u) => u.policy === 'refuse' || u.price !== undefined, { message: 'price is required when policy is estimate', path: ['price'] })
    .prefault({}),
}).refine((p) => p.kind !== 'bedrock' || bedrockRegion(p) !== undefined, { message: 'region is required for a Bedrock provider whose baseUrl is not a bedrock-runtime.REGION.amazonaws.com host', path: ['region'] });

export const modelSchema = z.object({
  provider: z.string().min(1),
  // The name sent upstream when it differs from the catalog name (Azure deployments, pinned snapshots).
  upstreamModel: z.string().optional(),
  encoding: z.enum(['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base', 'estimate']).default('o200k_base'),
  contextWindow: positiveInt.default(128_000),
  maxOutputTokens: positiveInt.default(4_096),
  price: priceSchema.default({ inputPerMTok: 0, outputPerMTok: 0 }),
  // Image and audio models are refused on the token-metered routes (src/pricing/price-schema.ts).
  kind: z.enum(modelKinds).default('text'),
  units: unitsSchema.optional(),
  aliases: z.array(z.string().min(1)).default([]),
  // The model bills hidden reasoning before (and beyond) its visible output: when its usage never
  // arrives, the gateway charges the whole reservation rather than what the client saw.
  reasoning: z.boolean().default(false),
});

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65_535).default(8080),
      maxBodyBytes: positiveInt.default(10 * 1024 * 1024),
      // Upper bound on how long shutdown waits for open streams before cutting them.
      drainTimeoutMs: positiveInt.default(30_000),
      // Unmetered provider endpoints a key may reach (src/proxy/passthrough-routes.ts); deny by default.
      passthrough: passthroughSchema.prefault({}),
      // Slow clients: the request head, and the whole request (not the answer, so long streams
      // are never cut), must arrive within these; past maxConnections new sockets are dropped.
      headersTimeoutMs: positiveInt.default(10_000),
      requestTimeoutMs: positiveInt.default(60_000),
      maxConnections: positiveInt.default(10_000),
      // When set, /health, /ready and /metrics are served on this port, and /metrics leaves the main one.
      opsPort: z.number().int().min(0).max(65_535).optional(),
      // Gateway processes sharing the port (`serve --workers`); unset means one per core when both
      // Redis and Postgres are configured, one when embedded (PGlite belongs to one process).
      workers: z.number().int().min(1).max(256).optional(),
      // How far V8 lets the old generation grow past what the last full GC kept, in percent (0 keeps
      // V8's own factor, up to 300%). Requests promote short-lived garbage steadily; at V8's factor a
      // gateway with 60 MB live grew to 260 MB of heap before collecting it (bench/keys).
      heapGrowingPercent: z.number().int().min(0).max(300).default(50),
    })
    .prefault({}),
  log: z
    .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .prefault({}),
  dataDir: z.string().default('./data'),
  redisUrl: z.string().optional(),
  // A Redis Cluster given as host:port,host:port (REDIS_CLUSTER_NODES); the same as redis+cluster:// in redisUrl.
  redisClusterNodes: z.string().optional(),
  databaseUrl: z.string().optional(),
  // Prefix for every Redis key and channel, so several deployments (or test files) can share one Redis.
  redisKeyPrefix: z.string().default('tg:'),
  upstream: z
    .object({
      connectTimeoutMs: positiveInt.default(10_000),
      firstByteTimeoutMs: positiveInt.default(120_000),
      idleTimeoutMs: positiveInt.default(120_000),
      // After a client leaves a reasoning model's answer, the gateway keeps reading (and discarding)
      // it for at most this long and this many bytes, so the provider's usage still arrives.
      disconnectDrainMs: positiveInt.default(30_000),
      disconnectDrainBytes: positiveInt.default(8 * 1024 * 1024),
      // Answer bytes kept for usage accounting across all requests in this process; past it, a
      // request keeps only a usage scan and is charged its reservation if the usage is missing.
      maxRetainedBytes: positiveInt.default(256 * 1024 * 1024),
    })
    .prefault({}),
  // Realtime websocket sessions (GET /v1/realtime, src/server/realtime-session.ts): the largest
  // frame either side may send, the bytes queued toward a slow side before the other is paused, a
  // session idle in both directions this long is closed, and no session outlives maxSessionMs.
  realtime: z
    .object({
      maxFrameBytes: positiveInt.default(16 * 1024 * 1024),
      maxBufferedBytes: positiveInt.default(4 * 1024 * 1024),
      idleTimeoutMs: positiveInt.default(300_000),
      maxSessionMs: positiveInt.default(3_600_000),
    })
    .prefault({}),
  // The response cache (src/cache/response-cache.ts): off until some org, team or key opts in.
  responseCache: z
    .object({
      ttlMs: positiveInt.default(300_000),
      maxEntryBytes: positiveInt.default(1024 * 1024),
      maxEntries: positiveInt.default(10_000),
      maxMemoryBytes: positiveInt.default(64 * 1024 * 1024),
      scopes: z.array(z.object({ scope: z.enum(['org', 'team', 'key']), id: z.string().min(1) })).default([]),
    })
    .prefault({}),
  auth: z
    .object({
      // Backstop full reload of the budget rules, in case an invalidation message was missed.
      cacheRefreshMs: positiveInt.default(30_000),
      // Principals kept in each process (least recently used go first); about 1 KB each.
      cacheMaxEntries: positiveInt.default(100_000),
      // Hashes found to be no key, remembered this long (a new key clears its own entry at once).
      negativeCacheMaxEntries: positiveInt.default(50_000),
      negativeCacheTtlMs: positiveInt.default(30_000),
      // How often the key_changes feed is read: the backstop for a missed pub/sub message.
      changePollMs: positiveInt.default(2_000),
      // A cache miss waits this long for Postgres before answering 503 auth_unavailable.
      lookupTimeoutMs: positiveInt.default(2_000),
    })
    .prefault({}),
  admin: z
    .object({
      // JWTs for the admin API: HS256 with `secret`, or the `algorithms` allow list with `jwksUrl`.
      // Every token must carry exp, this aud, and live at most maxAgeSec (exp - iat and exp - now).
      jwt: z
        .object({
          issuer: z.string().min(1),
          audience: z.string().min(1).default('tollgate-admin'),
          secret: z.string().min(32).optional(),
          jwksUrl: z.url().optional(),
          algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])).min(1).default(['RS256', 'ES256']),
          maxAgeSec: positiveInt.default(3_600),
          roleClaim: z.string().default('role'),
          // A claim naming the org id a non-admin token is confined to when its sub is no Tollgate user.
          orgClaim: z.string().min(1).optional(),
        })
        .refine((j) => (j.secret === undefined) !== (j.jwksUrl === undefined), { message: 'set exactly one of secret, jwksUrl' })
        .optional(),
      // Active (unrevoked, unexpired) API keys one user may hold; creation past it is key_limit_reached.
      maxKeysPerUser: positiveInt.default(20),
      // How long a rotated key keeps working, so clients can switch over without an outage.
      rotationGraceMs: z.number().int().nonnegative().default(86_400_000),
      // last_used_at is written in one batch per interval rather than once per request.
      lastUsedFlushMs: positiveInt.default(10_000),
    })
    .prefault({}),
  // The web console at /dashboard (src/console/): sessions end sessionTtlMs after sign-in (sooner
  // with the credential); at most maxSessions live in a process without Redis.
  console: z
    .object({
      enabled: z.boolean().default(true),
      sessionTtlMs: positiveInt.default(8 * 3_600_000),
      maxSessions: positiveInt.default(10_000),
      // 'auto': Secure when the browser reached the gateway over TLS (or x-forwarded-proto says so).
      secureCookie: z.enum(['auto', 'always']).default('auto'),
      // Authorization-code login against admin.jwt's issuer (src/console/oidc-login.ts).
      oidc: z
        .object({
          issuer: z.url(),
          clientId: z.string().min(1),
          clientSecret: z.string().min(1).optional(),
          scopes: z.string().default('openid email profile'),
          // Registered with the issuer; by default this gateway's /dashboard/oidc/callback.
          redirectUrl: z.url().optional(),
        })
        .optional(),
    })
    .prefault({}),
  tokens: z
    .object({
      // Prompts with at most this many characters are counted on the event loop; larger ones in
      // the worker pool (see src/tokens/prompt-counter.ts for how the default was measured).
      inlineMaxChars: positiveInt.default(4_096),
      // 0 means one thread fewer than the machine's cores (at least one).
      poolThreads: z.number().int().nonnegative().default(0),
      poolMaxQueue: positiveInt.default(256),
      // A count still unfinished this long after it was queued is charged the text's UTF-8 byte
      // length instead (never below the true count).
      poolTaskTimeoutMs: positiveInt.default(5_000),
    })
    .prefault({}),
  budget: budgetConfigSchema.prefault({}),
  cors: corsSchema,
  network: networkSchema,
  tracing: tracingSchema,
  usage: usageSchema,
  alerts: alertsSchema,
  alertRules: alertRulesSchema,
  analytics: analyticsSchema,
  reports: reportsSchema,
  providers: z.record(z.string(), providerSchema).default({}),
  catalogFile: z.string().optional(),
  // Written by `tollgate catalog import`, merged over the catalog and under `models:`; default
  // <dataDir>/catalog-overrides.yaml, read when it exists.
  catalogOverridesFile: z.string().optional(),
  // Checked when merged over the catalog (load.ts), not here: zod fills defaults into a partial
  // schema, and an override must change only the fields it names.
  models: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  aliases: z.record(z.string(), z.string()).default({}),
});

export type ParsedConfig = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type UnknownModelsConfig = z.output<typeof providerSchema>['unknownModels'];
