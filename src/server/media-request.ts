// The request path of one media call (images, audio, moderations), in the order of the text
// routes' (metered-request.ts): accept the body (JSON, or a multipart upload read for its pricing
// fields only), route the model, reserve the worst case, forward the client's bytes and relay the
// answer untouched, settle with what the provider reports it billed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import { metricModelLabel } from '../config/catalog.js';
import { GatewayError } from '../errors/catalogue.js';
import { parseJsonBody } from '../http/parse-json.js';
import type { MediaAdmission, MediaMeter } from '../metering/media-meter.js';
import { providers } from '../providers/index.js';
import { type MediaEndpoint, type MediaProvider, mediaProviders } from '../providers/media.js';
import { asObject, type JsonObject, parseJson, type Provider, type StreamUsageReader } from '../providers/provider.js';
import { forwardedRequestHeaders, pickHeaders } from '../proxy/headers.js';
import { createRedactor, providerSecrets } from '../proxy/redact.js';
import { relay } from '../proxy/relay.js';
import { createRetentionBudget } from '../proxy/retention.js';
import { type MediaInput, mediaEndpoints } from './media-endpoints.js';
import { type MeteredRequestDeps, routeModel } from './metered-request.js';
import { isMultipart, readMultipart } from './multipart-fields.js';
import { readBody } from './read-body.js';
import { sendError } from './send.js';

export interface MediaRequestDeps extends Omit<MeteredRequestDeps, 'meter' | 'ownership'> {
  mediaMeter: MediaMeter;
}

interface ReadRequest {
  readonly input: MediaInput;
  readonly raw: Buffer;
  readonly json: JsonObject | undefined;
}

// Relay reads answers through a Provider; a media answer's report is not text usage, so this one
// keeps the last body or stream event that carried a `usage` (or a transcript's `duration`) for
// the media provider to read at settle.
function capturingProvider(base: Provider): { provider: Provider; answer(): unknown } {
  let answer: unknown;
  const reader: StreamUsageReader = {
    onEvent(event) {
      const data = asObject(parseJson(event.data));
      if (data?.usage !== undefined) answer = data;
    },
    usage: () => undefined,
    final: () => answer !== undefined,
  };
  const provider: Provider = {
    ...base,
    usageFromBody(_endpoint, body) {
      answer = body;
      return undefined;
    },
    streamUsageReader: () => reader,
    isUsageOnlyEvent: () => false,
    deliveredText: () => '',
  };
  return { provider, answer: () => answer };
}

export function createMediaHandler(deps: MediaRequestDeps) {
  const { config, upstreams, mediaMeter, metrics, logger } = deps;
  const retention = createRetentionBudget(config.upstream.maxRetainedBytes);
  const redact = createRedactor(providerSecrets(config.providers.values()));

  async function read(req: IncomingMessage, endpoint: MediaEndpoint): Promise<ReadRequest> {
    const spec = mediaEndpoints[endpoint];
    if (!spec.upload) {
      const raw = await readBody(req, config.server.maxBodyBytes);
      const json = asObject(parseJsonBody(raw));
      if (!json) throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
      return { input: { fields: json, files: [] }, raw, json };
    }
    if (!isMultipart(req)) throw new GatewayError('invalid_request', `${req.url ?? 'This route'} takes a multipart/form-data upload.`);
    const body = await readMultipart(req, { ...spec.upload, fields: spec.fields });
    return { input: { fields: body.fields, files: body.files }, raw: body.raw, json: undefined };
  }

  return async function handleMedia(req: IncomingMessage, res: ServerResponse, endpoint: MediaEndpoint, principal: Principal, requestId: string): Promise<void> {
    const startedMs = performance.now();
    const spec = mediaEndpoints[endpoint];
    let admission: MediaAdmission | undefined;
    let modelLabel = 'unknown';
    try {
      const { input, raw, json } = await read(req, endpoint);
      const named = input.fields.model;
      if (named !== undefined && typeof named !== 'string') throw new GatewayError('invalid_request', 'model: must be a string', 'model');
      const modelName = named ?? spec.defaultModel;
      if (!modelName) throw new GatewayError('invalid_request', 'model: a model is required', 'model');
      const { model, upstream } = routeModel(modelName, principal, config, upstreams);
      modelLabel = metricModelLabel(model);
      const media: MediaProvider | undefined = mediaProviders[upstream.config.kind];
      if (!media || !spec.kinds.has(model.kind ?? 'text')) {
        const why = media ? `is a ${model.kind ?? 'text'} model, not served on` : 'is served by a provider that does not offer';
        throw new GatewayError('invalid_request', `The model "${modelName}" ${why} ${req.url}.`, 'model');
      }
      // An upload goes up byte for byte (a rewritten part could be made to differ from what was
      // parsed), so its model field must already be the provider's name.
      if (!json && model.upstreamModel !== modelName) {
        throw new GatewayError('invalid_request', `model: uploads are forwarded unchanged; name the provider's model "${model.upstreamModel}" instead of "${modelName}".`, 'model');
      }
      const pricing = spec.price(model, input);
      admission = await mediaMeter.admit({ requestId, principal, model, reserve: pricing.reserve, headers: req.headers });

      // A JSON body names the provider's model when the catalog maps the client's name to another.
      const renamed = json && named !== undefined && model.upstreamModel !== named ? JSON.stringify({ ...json, model: model.upstreamModel }) : undefined;
      const target = media.target(upstream.config, endpoint, model.upstreamModel);
      const capture = capturingProvider(providers[upstream.config.kind]);
      const forwardedMs = performance.now();
      metrics.overheadSeconds.observe((forwardedMs - startedMs) / 1000);
      const responseHeaders = { ...admission.headers, 'x-request-id': requestId, 'x-tollgate-overhead-ms': (forwardedMs - startedMs).toFixed(2) };
      const outcome = await relay(
        {
          pool: upstream.pool,
          path: target.path,
          headers: {
            'content-type': json ? 'application/json' : req.headers['content-type']!,
            'accept-encoding': 'identity',
            ...pickHeaders(req.headers, forwardedRequestHeaders),
            ...target.headers,
          },
          body: renamed ?? raw,
          // Not read: the capturing provider ignores which text endpoint it is asked about.
          endpoint: 'chat',
          provider: capture.provider,
          hideUsageEvent: false,
          responseHeaders,
          sendError: (error) => sendError(res, 'openai', error, responseHeaders),
          retention,
          drainAfterDisconnect: undefined,
          redact,
        },
        res,
      );
      const doneMs = performance.now();
      metrics.upstreamSeconds.observe({ provider: upstream.name }, (doneMs - forwardedMs) / 1000);
      if (outcome.ttfbMs !== null) metrics.ttfbSeconds.observe({ provider: upstream.name }, outcome.ttfbMs / 1000);
      metrics.requests.inc({ route: endpoint, model: modelLabel, status: String(outcome.status) });
      // The provider bills what it took: an answer, or work the client walked away from.
      const billed = outcome.reachedUpstream && ((outcome.status >= 200 && outcome.status < 400) || outcome.clientGone);
      const settling = admission;
      admission = undefined;
      await settling.settle({
        status: outcome.status,
        errorCode: outcome.errorCode,
        stream: outcome.stream,
        settled: billed ? pricing.settle(capture.answer(), media) : undefined,
        latencyMs: Math.round(doneMs - startedMs),
        ttfbMs: outcome.ttfbMs === null ? null : Math.round(outcome.ttfbMs),
      });
      logger.info({ requestId, route: endpoint, model: model.name, keyId: principal.keyId, status: outcome.status, errorCode: outcome.errorCode, ms: Math.round(doneMs - startedMs) }, 'request');
    } catch (err) {
      const code = err instanceof GatewayError ? err.code : 'internal_error';
      // An admission that was granted but never used gives its reservation back.
      await admission
        ?.settle({ status: err instanceof GatewayError ? err.status : 500, errorCode: code, stream: false, settled: undefined, latencyMs: Math.round(performance.now() - startedMs), ttfbMs: null })
        .catch((e: unknown) => logger.error({ requestId, err: e }, 'settle failed'));
      metrics.requests.inc({ route: endpoint, model: modelLabel, status: String(err instanceof GatewayError ? err.status : 500) });
      throw err;
    }
  };
}
