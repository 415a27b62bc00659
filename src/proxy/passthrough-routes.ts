// The pass-through allow-list: which unmetered provider endpoints a Tollgate key may reach, parsed
// from `server.passthrough` and compiled once into a matcher. Nothing outside the list reaches the
// provider with its credential. Stored objects (files, batches, ...) live in one provider project
// shared by every tenant, so a route naming an object must say which kind it is (`owned`), a
// route creating one says so (`creates`), and a route that would list them cannot be configured.
import { z } from 'zod';
import { endpointFamilies, type EndpointFamily } from '../server/families.js';
import { isGatewayPath } from '../server/routes.js';

export const objectKinds = ['files', 'uploads', 'batches', 'responses', 'vector_stores', 'fine_tuning_jobs'] as const;
export type ObjectKind = (typeof objectKinds)[number];

// Families whose calls cost money upstream. Their other paths are not metered (the gateway meters
// images, audio and moderations on its own routes), so they are refused while any budget applies
// to the caller; a config cannot declare them free.
const paidFamilies: ReadonlySet<EndpointFamily> = new Set(['images', 'audio', 'batches', 'fine_tuning', 'realtime']);
// Families holding objects in the shared provider project.
const storedFamilies: ReadonlySet<EndpointFamily> = new Set(['files', 'uploads', 'batches', 'responses', 'vector_stores', 'fine_tuning']);

// Literal segments are plain words (no dots, no escapes); `:id` stands for one object id.
const patternSchema = z.string().regex(/^\/v1(\/([A-Za-z0-9_-]+|:id))+$/, 'must be /v1/... made of plain segments and at most one :id');
const idPattern = /^[A-Za-z0-9_-]{1,128}$/;

export const passthroughRouteSchema = z
  .object({
    method: z.enum(['GET', 'POST', 'DELETE']),
    path: patternSchema,
    family: z.enum(endpointFamilies),
    cost: z.enum(['free', 'paid']),
    // The path's :id names an object of this kind; the caller's org must have created it here.
    owned: z.enum(objectKinds).optional(),
    // A 2xx JSON answer's `id` is recorded as an object of this kind owned by the caller's org.
    creates: z.enum(objectKinds).optional(),
    // Served only as a websocket upgrade (the realtime API), and never as a plain request.
    websocket: z.boolean().default(false),
  })
  .superRefine((route, ctx) => {
    const ids = route.path.split('/').filter((s) => s === ':id').length;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, path: ['path'] });
    if (ids > 1) issue('may name at most one :id');
    if ((ids === 1) !== (route.owned !== undefined)) issue('must name an :id exactly when the route sets `owned`');
    if (isGatewayPath(route.path)) issue('is served by the gateway itself');
    if (paidFamilies.has(route.family) && route.cost !== 'paid') ctx.addIssue({ code: 'custom', message: `family ${route.family} costs money: cost must be paid`, path: ['cost'] });
    // An unowned route on a stored family is a listing, which would span every tenant.
    if (storedFamilies.has(route.family) && route.owned === undefined && route.creates === undefined) {
      issue(`lists ${route.family} of every tenant; only routes that create (creates) or name an owned object (owned) are allowed`);
    }
    if (route.websocket && route.method !== 'GET') ctx.addIssue({ code: 'custom', message: 'websocket routes are GET', path: ['method'] });
  });

export type PassthroughRoute = z.output<typeof passthroughRouteSchema>;

// A deliberately small starting list for `mode: allowlist`; operators add what their clients need.
const defaultRoutes: z.input<typeof passthroughRouteSchema>[] = [
  { method: 'POST', path: '/v1/files', family: 'files', cost: 'free', creates: 'files' },
  { method: 'GET', path: '/v1/files/:id', family: 'files', cost: 'free', owned: 'files' },
  { method: 'GET', path: '/v1/files/:id/content', family: 'files', cost: 'free', owned: 'files' },
  { method: 'DELETE', path: '/v1/files/:id', family: 'files', cost: 'free', owned: 'files' },
];

// `passthrough: deny` and the retired `passthrough: proxy` (now the allow-list) still parse.
const legacy = (value: unknown) => (value === 'deny' ? { mode: 'deny' } : value === 'proxy' ? { mode: 'allowlist' } : value);

export const passthroughSchema = z.preprocess(
  legacy,
  z.object({
    // deny: every /v1 path the gateway does not serve is a 404. allowlist: `routes` go to `provider`.
    mode: z.enum(['deny', 'allowlist']).default('deny'),
    provider: z.string().default('openai'),
    routes: z.array(passthroughRouteSchema).default(() => defaultRoutes.map((r) => passthroughRouteSchema.parse(r))),
  }),
);

export type PassthroughConfig = z.output<typeof passthroughSchema>;

export interface PassthroughMatch {
  readonly route: PassthroughRoute;
  // The object id the path names (for `owned` routes).
  readonly objectId: string | null;
}

export interface PassthroughRoutes {
  match(method: string, path: string, websocket: boolean): PassthroughMatch | null;
}

export function compilePassthroughRoutes(config: PassthroughConfig): PassthroughRoutes {
  const compiled = config.mode === 'deny' ? [] : config.routes.map((route) => ({ route, segments: route.path.split('/').slice(1) }));
  return {
    match(method, path, websocket) {
      const segments = path.split('/').slice(1);
      for (const { route, segments: pattern } of compiled) {
        if (route.method !== method || route.websocket !== websocket || pattern.length !== segments.length) continue;
        let objectId: string | null = null;
        const fits = pattern.every((p, i) => {
          const s = segments[i]!;
          if (p !== ':id') return p === s;
          objectId = s;
          return idPattern.test(s);
        });
        if (fits) return { route, objectId };
      }
      return null;
    },
  };
}
