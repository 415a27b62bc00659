// One HTTP/1.1 exchange over a bare socket: the request line, header names and values and the body
// go out byte for byte (fetch and undici would normalise the path, refuse odd header values and
// fix up the framing), and the answer is read to the end of the connection and parsed by hand.
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  // Sent as written: dot segments, backslashes and malformed escapes included.
  target: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | string | undefined;
  // Frame the body with chunked transfer-encoding instead of content-length.
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  // Lower-cased names; repeated headers joined with ", ".
  headers: Record<string, string>;
  body: string;
}

const timeoutMs = 10_000;

export function encodeRequest(host: string, req: RawRequest): Buffer {
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `host: ${host}`, ...req.headers.map(([n, v]) => `${n}: ${v}`), 'connection: close'];
  if (body && req.chunked) lines.push('transfer-encoding: chunked');
  else if (body) lines.push(`content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  if (!body) return head;
  if (!req.chunked) return Buffer.concat([head, body]);
  const framed = body.length === 0 ? [] : [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')];
  return Buffer.concat([head, ...framed, Buffer.from('0\r\n\r\n')]);
}

export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const { host } = new URL(baseUrl);
  return rawExchange(baseUrl, encodeRequest(host, req), `${req.method} ${req.target.slice(0, 200)}`);
}

// Writes the bytes as given (a request the HTTP parser may refuse) and parses what comes back.
export function rawExchange(baseUrl: string, bytes: Buffer, label = 'raw request'): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms to ${label}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after the answer arrived (the server closing on a body it refused) is not a failure.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

export function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`connection closed without a complete answer: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const rest = raw.subarray(end + 4);
  const body = headers['transfer-encoding']?.toLowerCase().includes('chunked') ? dechunk(rest) : rest;
  return { status, headers, body: body.toString('utf8') };
}

// A stream cut mid-chunk (the gateway's way to signal an incomplete answer) keeps what arrived.
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
