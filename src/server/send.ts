// Writing gateway-made answers: JSON bodies and errors in the route's dialect.
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors/catalogue.js';
import { type DialectName, errorDialects } from '../providers/index.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, dialect: DialectName, error: GatewayError, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const render = errorDialects[dialect];
  const extra: Record<string, string> = { ...headers, ...render.headers?.(error), ...error.headers };
  // A body we refused to read may still be arriving: close rather than drain it.
  if (error.code === 'body_too_large') extra.connection = 'close';
  sendJson(res, error.status, render.render(error), extra);
}

// Anything that is not a GatewayError is a bug or broken infrastructure: clients see only
// internal_error, the details go to the log with the request id.
export const toGatewayError = (err: unknown): GatewayError => (err instanceof GatewayError ? err : new GatewayError('internal_error'));
