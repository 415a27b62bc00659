// Forwards one metered request upstream and relays the answer to the client as it arrives. Bytes
// pass through untouched; on the side, an SSE splitter feeds the provider's usage reader, and a
// usage event the gateway requested (not the client) is dropped whole. Resolves with what
// happened once the exchange is over, whichever way it ended.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors/catalogue.js';
import type { Provider, StreamUsageReader } from '../providers/provider.js';
import type { Endpoint, Usage } from '../providers/types.js';
import { createSseSplitter, parseSseEvent, type SseEvent, type SseSplitter } from './sse.js';

export interface RelayRequest {
  readonly pool: Dispatcher;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | string;
  readonly endpoint: Endpoint;
  readonly provider: Provider;
  readonly hideUsageEvent: boolean;
  // Headers the gateway adds to every answer (request id, rate-limit state).
  readonly responseHeaders: Readonly<Record<string, string>>;
  // Renders a gateway error when nothing has been sent to the client yet.
  readonly sendError: (error: GatewayError) => void;
}

export interface RelayOutcome {
  status: number;
  // Set when the exchange did not complete normally; a stable code for logs and the ledger.
  errorCode: string | null;
  stream: boolean;
  usage: Usage | undefined;
  ttfbMs: number | null;
  // Everything the model produced, for counting when the upstream reported no usage.
  deliveredText(): string;
}

const droppedResponseHeaders = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'x-request-id',
  'set-cookie',
  'openai-organization',
  'openai-project',
]);

// Past this much, a response body is relayed but not kept for usage extraction.
const maxRetainedBytes = 16 * 1024 * 1024;

const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class ClientDisconnectedError extends Error {
  override name = 'ClientDisconnectedError';
}

export function relay(req: RelayRequest, res: ServerResponse): Promise<RelayOutcome> {
  const startedMs = performance.now();
  return new Promise<RelayOutcome>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let status = 0;
    // Set once the answer turns out to be an event stream: the splitter and usage reader exist
    // only then, so a plain JSON answer pays for neither.
    let sse: { splitter: SseSplitter; reader: StreamUsageReader } | undefined;
    let ttfbMs: number | null = null;
    let finished = false;
    const retained: Buffer[] = [];
    let retainedBytes = 0;

    const retain = (chunk: Buffer) => {
      if (retainedBytes + chunk.length > maxRetainedBytes) return;
      retained.push(chunk);
      retainedBytes += chunk.length;
    };

    const parsedBody = (): unknown => {
      try {
        return JSON.parse(Buffer.concat(retained).toString('utf8'));
      } catch {
        return undefined;
      }
    };

    const retainedEvents = (): SseEvent[] => {
      const s = createSseSplitter();
      return retained.flatMap((c) => s.push(c)).map(parseSseEvent);
    };

    const finish = (errorCode: string | null) => {
      if (finished) return;
      finished = true;
      const stream = sse !== undefined;
      const body = stream || status >= 400 ? undefined : parsedBody();
      resolve({
        status,
        errorCode,
        stream,
        usage: sse ? sse.reader.usage() : req.provider.usageFromBody(req.endpoint, body),
        ttfbMs,
        deliveredText: () => req.provider.deliveredText(req.endpoint, stream ? retainedEvents() : undefined, body),
      });
    };

    const write = (chunk: Buffer) => {
      if (!res.write(chunk)) {
        controller?.pause();
        res.once('drain', () => controller?.resume());
      }
    };

    res.on('close', () => {
      if (!res.writableFinished && !finished) controller?.abort(new ClientDisconnectedError('client disconnected'));
    });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (res.destroyed) c.abort(new ClientDisconnectedError('client disconnected'));
      },
      onResponseStart(_c, statusCode, upstreamHeaders) {
        status = statusCode;
        const contentType = String(upstreamHeaders['content-type'] ?? '');
        const stream = statusCode < 300 && contentType.startsWith('text/event-stream');
        if (stream) sse = { splitter: createSseSplitter(), reader: req.provider.streamUsageReader(req.endpoint) };
        const headers: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(upstreamHeaders)) {
          if (value === undefined || droppedResponseHeaders.has(name)) continue;
          if (name === 'content-length' && stream && req.hideUsageEvent) continue;
          headers[name] = value;
        }
        const upstreamId = upstreamHeaders['x-request-id'];
        if (typeof upstreamId === 'string') headers['x-upstream-request-id'] = upstreamId;
        Object.assign(headers, req.responseHeaders);
        res.writeHead(statusCode, headers);
        // Headers go out at once so a client sees the stream open before the first token.
        if (stream) res.flushHeaders();
      },
      onResponseData(_c, chunk) {
        if (ttfbMs === null) ttfbMs = performance.now() - startedMs;
        retain(chunk);
        if (!sse) {
          write(chunk);
          return;
        }
        const events = sse.splitter.push(chunk);
        if (!req.hideUsageEvent) write(chunk);
        for (const raw of events) {
          const event = parseSseEvent(raw);
          sse.reader.onEvent(event);
          if (req.hideUsageEvent && !req.provider.isUsageOnlyEvent(event)) write(raw);
        }
      },
      onResponseEnd() {
        if (req.hideUsageEvent && sse && sse.splitter.pending().length > 0) res.write(sse.splitter.pending());
        res.end();
        finish(status >= 400 ? 'upstream_status' : null);
      },
      onResponseError(_c, err) {
        if (err instanceof ClientDisconnectedError) {
          finish('client_disconnected');
          return;
        }
        const timedOut = timeoutCodes.has((err as { code?: string }).code ?? '');
        if (!res.headersSent) {
          const error = new GatewayError(timedOut ? 'upstream_timeout' : 'upstream_error');
          status = error.status;
          req.sendError(error);
        } else {
          // Mid-stream failure: the status is already sent, so cutting the connection is the
          // only way to tell the client the answer is incomplete.
          res.destroy(err);
        }
        finish(timedOut ? 'upstream_timeout' : 'upstream_error');
      },
    };

    req.pool.dispatch(
      { method: 'POST', path: req.path, headers: req.headers, body: req.body, blocking: false },
      handler,
    );
  });
}
