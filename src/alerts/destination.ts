// Where notifications may go. A webhook or Slack URL is chosen by an org admin, so without a check
// it reaches the gateway's own network (cloud metadata, Redis, the admin port). Loopback, private,
// link-local, CGNAT and unique-local addresses are refused unless alerts.allowPrivateDestinations;
// the check runs on the address actually connected to (the agent's DNS lookup), so a name that
// re-resolves to a private address after it was saved is refused too.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent } from 'undici';

const v4Private: Array<[number, number]> = [
  [0x00000000, 8], // 0.0.0.0/8 "this network"
  [0x0a000000, 8], // 10/8
  [0x64400000, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local (cloud metadata)
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0xe0000000, 3], // multicast and reserved
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
}

export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const n = v4ToInt(ip);
    return v4Private.some(([base, bits]) => n >>> (32 - bits) === base >>> (32 - bits));
  }
  const lower = ip.toLowerCase();
  // IPv4-mapped addresses, dotted (::ffff:10.0.0.1) or as URL parsing writes them (::ffff:a00:1).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return isPrivateAddress(mapped[1]!);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex) {
    const [hi, lo] = [Number.parseInt(mappedHex[1]!, 16), Number.parseInt(mappedHex[2]!, 16)];
    return isPrivateAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return lower === '::' || lower === '::1' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError';
}

const refusal = (host: string, address: string) =>
  new DestinationRefusedError(`${host} resolves to ${address}, a private or loopback address; set alerts.allowPrivateDestinations to allow it`);

// Throws DestinationRefusedError for a URL that is not http(s) or names a private address literally.
export function assertDestinationUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationRefusedError(`${raw} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DestinationRefusedError(`${url.protocol} URLs are not allowed; use http or https`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && (host === 'localhost' || (isIP(host) && isPrivateAddress(host)))) throw refusal(url.hostname, host);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

// A DNS lookup that fails for names resolving to any refused address.
export function guardedLookup(hostname: string, options: { all?: boolean }, callback: LookupCallback): void {
  dnsLookup(hostname, { all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(Object.assign(refusal(hostname, bad.address), { code: 'EDESTINATION' }), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

// The HTTP agent notifications leave through: guarded unless private destinations are allowed.
export function createDestinationAgent(allowPrivate: boolean): Agent {
  return new Agent(allowPrivate ? {} : { connect: { lookup: guardedLookup as never } });
}
