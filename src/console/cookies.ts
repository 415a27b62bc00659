// The console's one cookie: read from a Cookie header, written HttpOnly and SameSite=Strict, with
// Secure and the __Host- prefix (no Domain, Path=/, Secure) when the browser reached us over TLS.
import type { IncomingHttpHeaders } from 'node:http';

const plainName = 'tollgate_console';
const hostName = `__Host-${plainName}`;

// hostOnly: only the __Host- cookie counts (console.secureCookie 'always'), so a plain cookie
// tossed in over plain HTTP or from a sibling subdomain can never stand for a session.
export function sessionIdFrom(headers: IncomingHttpHeaders, hostOnly = false): string | undefined {
  const header = headers.cookie;
  if (!header) return undefined;
  let plain: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    // The prefixed cookie can only have been set over TLS by this host: prefer it.
    if (name === hostName && value) return value;
    if (name === plainName && value) plain = value;
  }
  return hostOnly ? undefined : plain;
}

export function sessionCookie(id: string, maxAgeSec: number, secure: boolean): string {
  return `${secure ? hostName : plainName}=${id}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export const clearedCookie = (secure: boolean): string => sessionCookie('', 0, secure);
