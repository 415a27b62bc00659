// The request path of one metered call, in the order of DESIGN.md: accept (body), authenticate,
// route, meter (count + reserve), forward and stream back, settle.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { PrincipalCache } from '../auth/principal-cache.js';
import type { RuntimeConfig } from '../config/load.js';
import { meteredByTokens, metricModelLabel, type CatalogModel } from '../config/catalog.js';
import { GatewayError } from '../errors/catalogue.js';
import type { Admission, Meter } from '../metering/meter.js';
import type { Metrics } from '../metrics/metrics.js';
import { providers, translations } from '../providers/index.js';
import type { JsonObject, Provider, TranslationContext } from '../providers/provider.js';
import { copyHeaders, forwardedRequestHeaders } from '../proxy/headers.js';
import type { Ownership } from '../proxy/ownership.js';
import { createRedactor, providerSecrets } from '../proxy/redact.js';
import { relay, type RelayOutcome } from '../proxy/relay.js';
import { createRetentionBudget } from '../proxy/retention.js';
import type { Upstream, Upstreams } from '../proxy/upstreams.js';
import { type ResponseCache, sendCached } from '../cache/response-cache.js';
import { withCreatedResponseId } from './created-response.js';
import { readBody } from './read-body.js';
import { parseRequestTarget } from './request-path.js';
import { parseRequestBody } from './request-schema.js';
import type { MeteredRoute } from './routes.js';
import { sendError, toGatewayError } from './send.js';
import { spanKind } from '../tracing/span.js';
import { annotate, traced } from '../tracing/tracer.js';

export interface MeteredRequestDeps {
  config: RuntimeConfig;
  principals: PrincipalCache;
  upstreams: Upstreams;
  meter: Meter;
  metrics: Metrics;
  logger: Logger;
  // Responses created here belong to the caller's org (read back through the pass-through).
  ownership: Ownership;
  // Opted-in callers' answers are served again from here (src/cache/response-cache.ts); absent
  // when nobody opted in.
  responseCache?: ResponseCache;
}

export interface RoutedModel {
  model: CatalogModel;
  upstream: Upstream;
  provider: Provider;
}

// The model a {model} path segment names; undefined when it does not match the pattern (pathModel in routes.ts).
export function requirePathModel(name: string | undefined): string {
  if (name === undefined) throw new GatewayError('invalid_request', 'The path does not name a model: lowercase letters, digits, ".", "-" and "_" only.', 'model');
  return name;
}

export function routeModel(name: string, principal: Principal, config: RuntimeConfig, upstreams: Upstreams): RoutedModel {
  const model = config.catalog.resolve(name);
  if (!model) throw new GatewayError('model_not_found', `The model "${name}" does not exist in the catalog.`, 'model');
  if (!isAllowed(principal, model) && !principal.allowedModels?.has(name)) {
    throw new GatewayError('model_not_allowed', `This API key may not use the model "${name}".`, 'model');
  }
  const upstream = upstreams.get(model.provider)!;
  return { model, upstream, provider: providers[upstream.config.kind] };
}

export function isAllowed(principal: Principal, model: CatalogModel): boolean {
  return !principal.allowedModels || principal.allowedModels.has(model.name);
}

export function createMeteredHandler(deps: MeteredRequestDeps) {
  const { config, principals, upstreams, meter, metrics, logger, ownership, responseCache } = deps;
  const retention = createRetentionBudget(config.upstream.maxRetainedBytes);
  const redact = createRedactor(providerSecrets(config.providers.values()));
  const drain = { ms: config.upstream.disconnectDrainMs, bytes: config.upstream.disconnectDrainBytes };

  // Not awaited: the answer never waits on Postgres. A failed write leaves the response readable
  // by nobody through the gateway, which is the safe side; the log says which.
  const recordOwner = (orgId: string, provider: string, objectId: string, requestId: string): void => {
    ownership.record(orgId, { provider, kind: 'responses', objectId }).catch((err: unknown) => logger.error({ requestId, objectId, err }, 'recording the owner of a created response failed'));
  };

  // The gateway has authenticated the caller and checked its scopes; pathModel is the model a
  // {model} path segment names, on routes whose body does not.
  return async function handleMetered(req: IncomingMessage, res: ServerResponse, route: MeteredRoute, requestId: string, principal: Principal, pathModel: string | undefined): Promise<void> {
    const startedMs = performance.now();
    let admission: Admission | undefined;
    // Metric labels take catalog names only: a client's arbitrary model string would let anyone
    // create unbounded series.
    let modelLabel = 'unknown';
    try {
      const raw = await readBody(req, config.server.maxBodyBytes);
      const clientBody = route.parseBody ? route.parseBody(raw) : parseRequestBody(raw);
      const modelName = route.modelInPath ? requirePathModel(pathModel) : String(clientBody.model);
      const { model, upstream, provider } = routeModel(modelName, principal, config, upstreams);
      modelLabel = metricModelLabel(model);
      // A provider without the client's API may translate it (src/providers/index.ts).
      const translation = provider.endpoints.has(route.endpoint) ? undefined : translations[route.endpoint]?.[upstream.config.kind];
      if ((!provider.endpoints.has(route.endpoint) && !translation) || !meteredByTokens(model)) {
        const why = meteredByTokens(model) ? 'is served by a provider that does not offer' : `is a ${model.kind} model, not metered on`;
        // The path alone: a query string may hold the caller's key (?key=).
        throw new GatewayError('invalid_request', `The model "${modelName}" ${why} ${parseRequestTarget(req.url).path}.`, 'model');
      }
      // The client's own request names the answer: its endpoint, the model, its body, and (Gemini)
      // the framing its query asks for; never the rest of the query, which may hold a key.
      const cacheKey = responseCache?.keyFor(principal, route.endpoint, model.name, [clientBody, new URLSearchParams(parseRequestTarget(req.url).search).get('alt')]);
      if (cacheKey !== undefined) {
        const cached = await responseCache!.get(cacheKey);
        if (cached) {
          sendCached(res, cached, { 'x-request-id': requestId });
          metrics.requests.inc({ route: route.endpoint, model: modelLabel, status: String(cached.status) });
          responseCache!.recordHit({ principal, provider: model.provider, model: model.name, requestId, stream: clientBody.stream === true, latencyMs: Math.round(performance.now() - startedMs) });
          return;
        }
      }
      // From here on the request is the provider's own: a translated one is counted, reserved,
      // capped and settled exactly as if the client had sent the target's format.
      const translating: TranslationContext = { upstreamModel: model.upstreamModel, clientModel: modelName, maxOutputTokens: model.maxOutputTokens };
      const endpoint = translation ? translation.endpoint(clientBody) : route.endpoint;
      const body = translation ? translation.request(clientBody, translating) : clientBody;
      const requestedMax = provider.maxOutputTokens(endpoint, body);
      admission = await meter.admit({
        requestId,
        principal,
        model,
        endpoint,
        body,
        maxOutputTokens: requestedMax,
        // The client's own body: a translation states the catalog's cap for it (Anthropic requires one).
        maxTokensUnstated: (translation ? providers[route.dialect].maxOutputTokens(route.endpoint, clientBody) : requestedMax) === undefined,
        outputChoices: provider.outputChoices(endpoint, body),
        defersOutput: provider.defersOutput(endpoint, body),
        headers: req.headers,
      });
      const outgoing: JsonObject =
        admission.maxOutputTokens !== undefined && admission.maxOutputTokens !== requestedMax
          ? provider.withMaxOutputTokens(endpoint, body, admission.maxOutputTokens)
          : body;
      const prepared = provider.prepareBody(endpoint, outgoing, model.upstreamModel, modelName);
      const sendBody = prepared.body ?? (outgoing === clientBody ? undefined : outgoing);
      const search = translation ? (translation.search?.(clientBody) ?? '') : parseRequestTarget(req.url).search;
      const target = provider.target(upstream.config, endpoint, model.upstreamModel, search);
      // Filled in place, not spread: V8 builds `{ a, ...b, ...c }` on its slow generic path.
      const unsigned: Record<string, string> = { 'content-type': 'application/json', 'accept-encoding': 'identity' };
      copyHeaders(unsigned, req.headers, forwardedRequestHeaders);
      for (const name in target.headers) unsigned[name] = target.headers[name]!;
      // The client's own bytes go upstream unless the gateway had to change the body.
      const upstreamBody = sendBody ? JSON.stringify(sendBody) : raw;
      const headers = provider.sign ? await provider.sign(upstream.config, { path: target.path, headers: unsigned, body: upstreamBody }) : unsigned;

      const relayed = endpoint === 'responses' ? withCreatedResponseId(provider, (objectId) => recordOwner(principal.orgId, upstream.name, objectId, requestId)) : provider;
      const forwardedMs = performance.now();
      metrics.overheadSeconds.observe((forwardedMs - startedMs) / 1000);
      // The gateway's own time before forwarding, so a load test can tell it from the upstream's.
      // Filled in place rather than spread (V8 builds `{ ...a, b }` on a slow generic path: bench/cpu.ts).
      const responseHeaders: Record<string, string> = {};
      for (const name in admission.headers) responseHeaders[name] = admission.headers[name]!;
      responseHeaders['x-request-id'] = requestId;
      responseHeaders['x-tollgate-overhead-ms'] = (forwardedMs - startedMs).toFixed(2);
      if (cacheKey !== undefined) responseHeaders['x-tollgate-cache'] = 'miss';
      const captured = cacheKey === undefined ? undefined : responseCache!.capture(res);
      annotate({ 'gen_ai.system': upstream.name, 'gen_ai.request.model': model.name, 'tollgate.request_id': requestId });
      const outcome = await traced(
        'upstream',
        () =>
          relay(
        {
          pool: upstream.pool,
          path: target.path,
          headers,
          body: upstreamBody,
          endpoint,
          provider: relayed,
          hideUsageEvent: prepared.hideUsageEvent,
          ...(translation ? { translate: translation.response(clientBody, translating) } : {}),
          responseHeaders,
          sendError: (error) => sendError(res, route.dialect, error, responseHeaders),
          retention,
          // Only a reasoning model's usage is worth reading on for: other output is what was sent.
          drainAfterDisconnect: model.reasoning ? drain : undefined,
          redact,
        },
      res,
          ),
        spanKind.client,
      );
      const doneMs = performance.now();
      metrics.upstreamSeconds.observe({ provider: upstream.name }, (doneMs - forwardedMs) / 1000);
      if (outcome.ttfbMs !== null) metrics.ttfbSeconds.observe({ provider: upstream.name }, outcome.ttfbMs / 1000);
      metrics.requests.inc({ route: route.endpoint, model: modelLabel, status: String(outcome.status) });
      if (outcome.usage) {
        metrics.tokens.inc({ model: modelLabel, direction: 'input' }, outcome.usage.promptTokens);
        metrics.tokens.inc({ model: modelLabel, direction: 'output' }, outcome.usage.completionTokens);
      }
      // Only a whole answer with the provider's final usage is kept: anything less is not what it would say again.
      const answer = outcome.status === 200 && outcome.errorCode === null && !outcome.clientGone && outcome.usage !== undefined ? captured?.() : undefined;
      if (answer) responseCache!.put(cacheKey!, answer);
      const settling = admission;
      admission = undefined;
      // The relay's outcome, timed in whole milliseconds, set on it rather than spread into a copy.
      const settled = outcome as RelayOutcome & { latencyMs: number };
      settled.latencyMs = Math.round(doneMs - startedMs);
      if (outcome.ttfbMs !== null) settled.ttfbMs = Math.round(outcome.ttfbMs);
      await settling.settle(settled);
      logger.info(
        { requestId, route: route.endpoint, model: model.name, keyId: principal.keyId, status: outcome.status, errorCode: outcome.errorCode, usage: outcome.usage, ms: Math.round(doneMs - startedMs) },
        'request',
      );
    } catch (err) {
      const error = toGatewayError(err);
      if (error.code === 'internal_error') logger.error({ requestId, err }, 'request failed');
      // An admission that was granted but never used gives its reservation back.
      await admission?.settle({ status: error.status, errorCode: error.code, stream: false, usage: undefined, partialUsage: undefined, reachedUpstream: false, clientGone: false, measured: true, latencyMs: Math.round(performance.now() - startedMs), ttfbMs: null, deliveredText: () => '' }).catch((e: unknown) => logger.error({ requestId, err: e }, 'settle failed'));
      metrics.requests.inc({ route: route.endpoint, model: modelLabel, status: String(error.status) });
      sendError(res, route.dialect, error, { 'x-request-id': requestId, 'x-tollgate-overhead-ms': (performance.now() - startedMs).toFixed(2) });
    }
  };
}
