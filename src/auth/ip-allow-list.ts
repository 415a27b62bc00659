// Addresses and CIDR sets for IP allow-lists and trusted proxies: parsing (IPv4 and IPv6, a bare
// address meaning one host), normalising (IPv4-mapped IPv6 is the IPv4 address, as a dual-stack
// socket reports it), and membership through node:net's BlockList.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

// The address a peer or header names, in the form allow-lists compare; undefined when it is not one.
export function normaliseAddress(text: string): string | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  if (isIPv4(address)) return address;
  return isIPv6(address) ? address.toLowerCase() : undefined;
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (/32 or /128); undefined for anything else.
export function parseCidr(text: string): Cidr | undefined {
  const [host, bits, extra] = text.trim().split('/');
  if (host === undefined || extra !== undefined) return undefined;
  const address = normaliseAddress(host);
  if (!address) return undefined;
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  const max = family === 'ipv4' ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  return prefix <= max ? { address, prefix, family } : undefined;
}

export const formatCidr = (cidr: Cidr): string => `${cidr.address}/${cidr.prefix}`;

export interface AddressSet {
  has(address: string): boolean;
}

// Entries are parsed already (config and admin input are validated with parseCidr).
export function compileAddressSet(cidrs: readonly string[]): AddressSet {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return {
    has(address) {
      const normal = normaliseAddress(address);
      return normal !== undefined && list.check(normal, isIPv4(normal) ? 'ipv4' : 'ipv6');
    },
  };
}

export const cidrSchema = z.string().refine((text) => parseCidr(text) !== undefined, 'must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32, or one address');

// The `network:` section of the config.
export const networkSchema = z
  .object({
    // Proxies (load balancers, ingress) whose X-Forwarded-For is believed: CIDRs or addresses.
    trustedProxies: z.array(cidrSchema).default([]),
    // Backstop reload of the IP allow-lists, in case an invalidation message was missed.
    ipAllowRefreshMs: z.number().int().positive().default(60_000),
  })
  .prefault({});
