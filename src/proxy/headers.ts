// Which headers cross the gateway, for metered relays and pass-through alike. Requests: only the
// listed client headers go upstream (never cookies, the Tollgate key, OpenAI-Organization or
// OpenAI-Project, X-Forwarded-*). Answers: the listed upstream headers stay behind (hop-by-hop
// headers, cookies, the provider's organization and project).
import type { IncomingHttpHeaders } from 'node:http';

export const forwardedRequestHeaders = ['accept', 'anthropic-version', 'anthropic-beta', 'openai-beta', 'user-agent'] as const;

// What a request body needs to arrive intact (pass-through uploads are multipart).
export const bodyRequestHeaders = ['content-type', 'content-length'] as const;

// The websocket handshake; `connection` and `upgrade` are set by the proxy itself.
export const websocketRequestHeaders = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions'] as const;

export const droppedResponseHeaders: ReadonlySet<string> = new Set([
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

export function pickHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  return copyHeaders({}, headers, names);
}

// pickHeaders into an object the caller is filling.
export function copyHeaders(out: Record<string, string>, headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  for (const name of names) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

// Upstream answer headers a client may see; the upstream's request id is renamed so the gateway's stays authoritative.
export function clientResponseHeaders(upstream: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value !== undefined && !droppedResponseHeaders.has(name)) out[name] = value;
  }
  const upstreamId = upstream['x-request-id'];
  if (typeof upstreamId === 'string') out['x-upstream-request-id'] = upstreamId;
  return out;
}
