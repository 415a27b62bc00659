// Which address a request comes from. The socket's peer, unless that peer is a configured trusted
// proxy: then X-Forwarded-For is read from the right, each trusted hop skipped, and the first
// untrusted hop is the client. Hops left of it were written by someone not trusted, so they are
// never read; a peer that is not a trusted proxy cannot move the client with the header at all.
import type { IncomingMessage } from 'node:http';
import { type AddressSet, normaliseAddress } from './ip-allow-list.js';

export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: AddressSet): string | undefined {
  const direct = peer === undefined ? undefined : normaliseAddress(peer);
  if (direct === undefined || !trusted.has(direct) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(hops[i]!);
    // Not an address: nothing can be said about the client, and nothing on a list matches it.
    if (hop === undefined) return undefined;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}

export const requestAddress = (req: IncomingMessage, trusted: AddressSet): string | undefined => clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
