// Where the dashboard and `system --health` read a gateway: TOLLGATE_URL when set (with
// --ops-url or TOLLGATE_OPS_URL for /ready and /metrics when they are on a separate ops port),
// otherwise the local gateway the config file describes, its admin API in this process when the
// config names a shared Postgres.
import { request } from 'undici';
import { loadConfig } from '../config/load.js';

export interface GatewayEndpoints {
  // The main port: what the title shows.
  readonly url: string;
  // Serves /ready and /metrics.
  readonly opsUrl: string;
  // Where the admin API is called over HTTP; undefined: in this process on the shared Postgres.
  // An embedded gateway is always called over HTTP, since its PGlite belongs to its process.
  readonly adminUrl: string | undefined;
}

const trimmed = (url: string) => url.replace(/\/$/, '');

export function gatewayEndpoints(opsUrlFlag?: string): GatewayEndpoints {
  const remote = process.env.TOLLGATE_URL;
  const opsOverride = opsUrlFlag ?? process.env.TOLLGATE_OPS_URL;
  if (remote) return { url: trimmed(remote), opsUrl: trimmed(opsOverride ?? remote), adminUrl: trimmed(remote) };
  const { server, databaseUrl } = loadConfig();
  const host = server.host === '0.0.0.0' || server.host === '::' ? '127.0.0.1' : server.host;
  const url = `http://${host}:${server.port}`;
  const opsUrl = trimmed(opsOverride ?? (server.opsPort === undefined ? url : `http://${host}:${server.opsPort}`));
  return { url, opsUrl, adminUrl: databaseUrl ? undefined : url };
}

export async function getText(url: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { status: res.statusCode, text: await res.body.text() };
}

export async function scrapeMetrics(opsUrl: string): Promise<string> {
  const { status, text } = await getText(`${opsUrl}/metrics`);
  if (status !== 200) throw new Error(`GET /metrics answered ${status}`);
  return text;
}
