// What makes a request the console's own: a session cookie (SameSite=Strict, so never sent from
// another site) plus the session's synchroniser token in x-csrf-token (another origin cannot read
// it), and, when the browser says, the same origin. Sign-in has no session yet, so it rests on the
// origin checks alone.
import type { IncomingHttpHeaders } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors/catalogue.js';
import type { ConsoleSession } from './session-store.js';

const hostOf = (headers: IncomingHttpHeaders) => headers['x-forwarded-host'] ?? headers.host;

export function assertSameOrigin(headers: IncomingHttpHeaders): void {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new GatewayError('forbidden', 'Console requests must come from the console itself.');
  const origin = headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== hostOf(headers)) throw new GatewayError('forbidden', 'Console requests must come from the console itself.');
}

export function assertConsoleRequest(headers: IncomingHttpHeaders, session: ConsoleSession): void {
  assertSameOrigin(headers);
  const token = headers['x-csrf-token'];
  const given = Buffer.from(typeof token === 'string' ? token : '');
  const expected = Buffer.from(session.csrfToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new GatewayError('forbidden', 'A console request must carry its session token in x-csrf-token.');
  }
}
