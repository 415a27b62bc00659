// Forwards one metered request upstream and relays the answer to the client as it arrives. Bytes
// pass through untouched, except error bodies, which are held whole so provider secrets they quote
// can be redacted; on the side, a stream splitter (SSE, or the provider's own framing) feeds the
// provider's usage reader, and a usage event the gateway requested (not the client) is dropped
// whole. What usage accounting needs is kept within a process-wide retention budget. Resolves
// with what happened once the exchange is over, whichever way it ended.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors/catalogue.js';
import type { Provider, ResponseTranslator, StreamUsageReader } from '../providers/provider.js';
import type { Endpoint, Usage } from '../providers/types.js';
import { createMemberScanner, type MemberScanner } from './json-member-scanner.js';
import { droppedResponseHeaders } from './headers.js';
import type { Redact } from './redact.js';
import type { RetentionBudget } from './retention.js';
import { createSseSplitter, parseSseEvent, type SseSplitter } from './sse.js';
import type { StreamFraming } from '../providers/provider.js';

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
  readonly retention: RetentionBudget;
  // Set for models whose usage the gateway must see even when the client leaves (reasoning
  // models): the answer is read on, unsent, for at most this long and this many bytes.
  readonly drainAfterDisconnect: { readonly ms: number; readonly bytes: number } | undefined;
  readonly redact: Redact;
  // Set when the client speaks another API than the provider: successful answers are rewritten
  // into the client's format (whole bodies at their end, stream events one by one) instead of
  // relayed byte for byte; usage is still read from the provider's own answer.
  readonly translate?: ResponseTranslator;
}

export interface RelayOutcome {
  status: number;
  // Set when the exchange did not complete normally; a stable code for logs and the ledger.
  errorCode: string | null;
  stream: boolean;
  // The provider's usage, once final.
  usage: Usage | undefined;
  // Usage a stream reported before it ended early: a lower bound, not the bill.
  partialUsage: Usage | undefined;
  // False only when the client left before the request was sent: the provider saw nothing.
  reachedUpstream: boolean;
  clientGone: boolean;
  // False when part of the output could not be kept for counting (past the retention budget, or
  // a body that is not JSON): without the provider's usage, only the reservation is a safe charge.
  measured: boolean;
  ttfbMs: number | null;
  // Everything the model produced, for counting when the upstream reported no usage.
  deliveredText(): string;
}

// Past this much, one answer keeps no copy for usage extraction (a usage scan instead).
const maxRetainedBytes = 16 * 1024 * 1024;
// Error bodies are held whole for redaction; a larger one is replaced by upstream_error.
const maxErrorBodyBytes = 1024 * 1024;
// Both wire formats carry a non-streamed answer's usage as its top-level `usage` member.
const usageMember = 'usage';

// Streams are Server-Sent Events unless the provider frames them otherwise (Bedrock).
const sseFraming: StreamFraming = { mediaType: 'text/event-stream', createSplitter: () => createSseSplitter(), parse: parseSseEvent };

const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

// The type/subtype of a Content-Type, lowercased: media types are case-insensitive (RFC 9110
// 8.3.1), so `Text/Event-Stream; charset=utf-8` is still a stream whose usage must be read.
const mediaType = (value: string | string[] | undefined): string => ((Array.isArray(value) ? value[0] : value) ?? '').split(';', 1)[0]!.trim().toLowerCase();

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
    const framing = req.provider.streamFraming ?? sseFraming;
    // An error answer's head waits for its whole (redacted) body.
    let errorHead: Record<string, string | string[]> | undefined;
    let translatedHead: Record<string, string | string[]> = {};
    let ttfbMs: number | null = null;
    let finished = false;
    let reachedUpstream = false;
    let clientGone = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let drainedBytes = 0;
    let errorBodyTooLarge = false;

    // What usage accounting keeps: a non-streamed body's chunks, or a stream's delivered text.
    const retained: Buffer[] = [];
    const texts: string[] = [];
    let retainedBytes = 0;
    let measured = true;
    let scanner: MemberScanner | undefined;

    const take = (bytes: number, cap: number): boolean => {
      if (retainedBytes + bytes > cap || !req.retention.take(bytes)) return false;
      retainedBytes += bytes;
      return true;
    };
    const releaseRetained = () => {
      req.retention.give(retainedBytes);
      retainedBytes = 0;
      retained.length = 0;
    };

    // A non-streamed body is kept until it outgrows the caps; from then on only its usage member
    // is looked for, and nothing of it is counted.
    const retainBody = (chunk: Buffer) => {
      if (!scanner && take(chunk.length, maxRetainedBytes)) {
        retained.push(chunk);
        return;
      }
      if (!scanner) {
        scanner = createMemberScanner(usageMember);
        for (const kept of retained) scanner.push(kept);
        releaseRetained();
        measured = false;
      }
      scanner.push(chunk);
    };

    const retainText = (text: string) => {
      if (text.length === 0 || !measured) return;
      if (take(Buffer.byteLength(text), maxRetainedBytes)) texts.push(text);
      else measured = false;
    };

    const parsedBody = (): unknown => {
      try {
        return JSON.parse(Buffer.concat(retained).toString('utf8'));
      } catch {
        return undefined;
      }
    };

    const finish = (errorCode: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(drainTimer);
      const stream = sse !== undefined;
      let usage: Usage | undefined;
      let partialUsage: Usage | undefined;
      let text = '';
      if (sse) {
        const reported = sse.reader.usage();
        if (sse.reader.final()) usage = reported;
        else partialUsage = reported;
        text = texts.join('');
      } else if (status >= 200 && status < 400) {
        if (scanner) {
          usage = req.provider.usageFromBody(req.endpoint, { [usageMember]: scanner.value() });
        } else {
          const body = parsedBody();
          if (body === undefined) measured = false;
          usage = req.provider.usageFromBody(req.endpoint, body);
          // The text is counted only when the answer carries no usage (src/metering/usage-event.ts).
          if (!usage) text = req.provider.deliveredText(req.endpoint, undefined, body);
        }
      }
      // What remains is a string, held until settle counts it (briefly, outside the budget).
      releaseRetained();
      resolve({ status, errorCode, stream, usage, partialUsage, reachedUpstream, clientGone, measured, ttfbMs, deliveredText: () => text });
    };

    // One drain listener while paused, however many writes the socket refused meanwhile.
    let paused = false;
    const write = (chunk: Buffer) => {
      if (clientGone) return;
      if (!res.write(chunk) && !paused) {
        paused = true;
        controller?.pause();
        res.once('drain', () => {
          paused = false;
          controller?.resume();
        });
      }
    };

    const stopReading = () => controller?.abort(new ClientDisconnectedError('client disconnected'));

    res.on('close', () => {
      if (res.writableFinished || finished) return;
      clientGone = true;
      const drain = req.drainAfterDisconnect;
      if (!drain) {
        stopReading();
        return;
      }
      // Read on, unsent, so the provider's usage (after hidden reasoning) still arrives.
      drainTimer = setTimeout(stopReading, drain.ms);
      controller?.resume();
    });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        // Aborting here stops the request before any byte of it is written upstream.
        if (res.destroyed) c.abort(new ClientDisconnectedError('client disconnected'));
        else reachedUpstream = true;
      },
      onResponseStart(_c, statusCode, upstreamHeaders) {
        status = statusCode;
        const stream = statusCode < 300 && mediaType(upstreamHeaders['content-type']) === framing.mediaType;
        if (stream) sse = { splitter: framing.createSplitter(), reader: req.provider.streamUsageReader(req.endpoint) };
        const headers: Record<string, string | string[]> = {};
        for (const name in upstreamHeaders) {
          const value = upstreamHeaders[name];
          if (value === undefined || droppedResponseHeaders.has(name)) continue;
          if (name === 'content-length' && ((stream && req.hideUsageEvent) || statusCode >= 400 || req.translate)) continue;
          headers[name] = value;
        }
        const upstreamId = upstreamHeaders['x-request-id'];
        if (typeof upstreamId === 'string') headers['x-upstream-request-id'] = upstreamId;
        Object.assign(headers, req.responseHeaders);
        // A translated stream is the client's SSE, whatever framing the upstream used (Bedrock's is binary).
        if (stream && req.translate) headers['content-type'] = 'text/event-stream';
        if (statusCode >= 400) {
          errorHead = headers;
          return;
        }
        if (clientGone) return;
        // A whole answer is translated at its end, so its status waits too: it may not be keepable.
        if (req.translate && !stream) {
          translatedHead = headers;
          return;
        }
        res.writeHead(statusCode, headers);
        // Headers go out at once so a client sees the stream open before the first token.
        if (stream) res.flushHeaders();
      },
      onResponseData(_c, chunk) {
        if (ttfbMs === null) ttfbMs = performance.now() - startedMs;
        if (clientGone && req.drainAfterDisconnect && (drainedBytes += chunk.length) > req.drainAfterDisconnect.bytes) {
          stopReading();
          return;
        }
        if (errorHead) {
          if (!errorBodyTooLarge && take(chunk.length, maxErrorBodyBytes)) retained.push(chunk);
          else errorBodyTooLarge = true;
          return;
        }
        if (!sse) {
          retainBody(chunk);
          if (!req.translate) write(chunk);
          return;
        }
        const events = sse.splitter.push(chunk);
        if (!req.hideUsageEvent && !req.translate) write(chunk);
        for (const raw of events) {
          // Pieces of an event past the splitter's cap are relayed but neither parsed nor kept,
          // so the output they carry can no longer be counted.
          if (sse.splitter.isOversized(raw)) {
            if (req.hideUsageEvent && !req.translate) write(raw);
            measured = false;
            continue;
          }
          const event = framing.parse(raw);
          sse.reader.onEvent(event);
          retainText(req.provider.deliveredText(req.endpoint, [event], undefined));
          if (req.translate) write(Buffer.from(req.translate.event(event)));
          else if (req.hideUsageEvent && !req.provider.isUsageOnlyEvent(event)) write(raw);
        }
      },
      onResponseEnd() {
        if (clientGone) {
          finish('client_disconnected');
          return;
        }
        if (errorHead) {
          sendErrorBody(errorHead);
        } else if (req.translate) {
          // A whole body past the retention caps was not kept, so it cannot be translated: the
          // client gets an error instead of a truncated answer (its usage is still charged).
          if (sse) res.end(req.translate.end());
          else if (scanner) req.sendError(new GatewayError('upstream_error', "The provider's answer was too large to translate; ask for it streamed."));
          else {
            res.writeHead(status, translatedHead);
            res.end(JSON.stringify(req.translate.body(parsedBody())));
          }
        } else {
          if (req.hideUsageEvent && sse && sse.splitter.pending().length > 0) res.write(sse.splitter.pending());
          res.end();
        }
        finish(status >= 400 ? 'upstream_status' : null);
      },
      onResponseError(_c, err) {
        if (err instanceof ClientDisconnectedError || clientGone) {
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

    // The upstream's error answer, whole and with every configured provider secret redacted.
    const sendErrorBody = (head: Record<string, string | string[]>) => {
      if (errorBodyTooLarge) {
        req.sendError(new GatewayError('upstream_error', `The upstream answered ${status} with an error body too large to relay.`));
        return;
      }
      const body = req.redact(Buffer.concat(retained));
      res.writeHead(status, { ...head, 'content-length': String(body.length) });
      res.end(body);
    };

    req.pool.dispatch(
      { method: 'POST', path: req.path, headers: req.headers, body: req.body, blocking: false },
      handler,
    );
  });
}
