// How CLI commands reach the control plane: the admin API over HTTP when TOLLGATE_URL is set
// (token from --token or TOLLGATE_ADMIN_KEY), otherwise the same router run in this process on
// the configured database, as an admin, publishing the same invalidations to running replicas.
import { hostname, userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { createAdminApi } from '../admin/index.js';
import type { AdminRouter } from '../admin/router.js';
import type { Actor } from '../control/actor.js';
import { GatewayError } from '../errors/catalogue.js';
import { openOffline } from './context.js';

export interface AdminClient {
  call<T = any>(method: string, path: string, options?: { query?: Record<string, string | undefined>; body?: unknown }): Promise<T>;
  close(): Promise<void>;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${message} (${code})`);
  }
}

const queryString = (query: Record<string, string | undefined> = {}) => {
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
  return params.size > 0 ? `?${params}` : '';
};

// `url` overrides TOLLGATE_URL (the dashboard reaches an embedded gateway over HTTP: its PGlite
// belongs to the gateway's process).
export async function openAdminClient(token?: string, url = process.env.TOLLGATE_URL): Promise<AdminClient> {
  if (url) {
    const credential = token ?? process.env.TOLLGATE_ADMIN_KEY;
    return {
      async call(method, path, options = {}) {
        const res = await request(`${url.replace(/\/$/, '')}/admin/v1${path}${queryString(options.query)}`, {
          method: method as 'GET',
          headers: { ...(credential ? { authorization: `Bearer ${credential}` } : {}), 'content-type': 'application/json' },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        });
        const bytes = Buffer.from(await res.body.arrayBuffer());
        // A PDF report stays bytes; everything else is text.
        if (res.statusCode < 400 && res.headers['content-type']?.toString().startsWith('application/pdf')) return bytes;
        const text = bytes.toString('utf8');
        const parsed = text && res.headers['content-type']?.toString().startsWith('application/json') ? JSON.parse(text) : text;
        if (res.statusCode >= 400) throw new ApiError(res.statusCode, parsed?.error?.code ?? 'http_error', parsed?.error?.message ?? text);
        return parsed;
      },
      close: async () => {},
    };
  }
  const offline = await openOffline();
  const { router } = createAdminApi(offline.database.db, offline.bus, offline.config.admin, { analytics: { catalog: offline.config.catalog, configRules: offline.config.budget.budgets, config: offline.config.analytics }, alerts: offline.config.alerts, alertRules: offline.config.alertRules });
  const actor = { type: 'cli', id: `${userInfo().username}@${hostname()}`, role: 'admin', userId: null } as const;
  return { call: routerClient(router, actor).call, close: () => offline.close() };
}

// Calls the admin routes in this process, as `actor`, with the same answers and errors as HTTP.
export function routerClient(router: AdminRouter, actor: Actor): Pick<AdminClient, 'call'> {
  return {
    async call(method, path, options = {}) {
      const query = Object.fromEntries(Object.entries(options.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
      try {
        const reply = await router({ method, path, query, body: options.body, requestId: `cli-${randomUUID()}`, actor });
        return ('raw' in reply ? reply.raw.text : reply.body) as never;
      } catch (err) {
        if (err instanceof GatewayError) throw new ApiError(err.status, err.code, err.message);
        throw err;
      }
    },
  };
}
