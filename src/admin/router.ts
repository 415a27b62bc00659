// Dispatches an admin request (already authenticated) to its route: match, authorise, validate,
// handle. Transport-free, so the HTTP handler and the offline CLI run exactly the same code.
import type { z } from 'zod';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { Actor } from '../control/actor.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { createAccess } from './access.js';
import { reachOf } from './rbac.js';
import { RawReply, type AdminSettings, type Route } from './route.js';

export interface AdminRequest {
  readonly method: string;
  // Path below /admin/v1, e.g. /users/usr_1.
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly requestId: string;
  // Undefined when no credential was sent.
  readonly actor: Actor | undefined;
}

export type AdminReply = { status: number; body: unknown } | { status: number; raw: RawReply };

export interface AdminRouterDeps {
  db: Db;
  bus: InvalidationBus;
  settings: AdminSettings;
  routes: readonly Route[];
}

export type AdminRouter = (request: AdminRequest) => Promise<AdminReply>;

interface Compiled {
  route: Route;
  segments: string[];
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError('invalid_request', `The path segment "${raw}" is not valid percent-encoding.`);
  }
}

function match(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.startsWith(':')) params[s.slice(1)] = decodeParam(parts[i]!);
    else if (s !== parts[i]) return undefined;
  }
  return params;
}

// Also for a handler's own check of a path parameter, so a bad one is a 400 like a bad body.
export function parseInput<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'body' | 'query' | 'path'): T {
  if (!schema) return undefined as T;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  throw new GatewayError('invalid_request', `${where}${path ? `.${path}` : ''}: ${issue.message}`, path || null);
}

export function createAdminRouter(deps: AdminRouterDeps): AdminRouter {
  const compiled: Compiled[] = deps.routes.map((route) => ({ route, segments: route.path.split('/').filter(Boolean) }));

  return async function dispatch(request) {
    // Nothing is revealed to a caller without credentials, not even which routes exist.
    if (!request.actor) throw new GatewayError('admin_unauthorized');
    const parts = request.path.split('/').filter(Boolean);
    const candidates = compiled.map((c) => ({ c, params: match(c.segments, parts) })).filter((m) => m.params);
    const found = candidates.find((m) => m.c.route.method === request.method);
    if (!found) {
      if (candidates.length > 0) throw new GatewayError('method_not_allowed', `${request.path} accepts ${candidates.map((m) => m.c.route.method).join(', ')}.`);
      throw new GatewayError('route_not_found', `No admin route ${request.method} ${request.path}.`);
    }
    const { route } = found.c;
    const actor = request.actor;
    if (!reachOf(actor.role, route.permission) || (actor.permissions && !actor.permissions.has(route.permission))) throw new GatewayError('forbidden', `The ${actor.role} role may not ${route.permission.replace(':', ' ')}.`);
    const access = createAccess(deps.db, actor);
    const result = await route.handle({
      db: deps.db,
      bus: deps.bus,
      settings: deps.settings,
      access,
      change: { actor, requestId: request.requestId },
      params: found.params!,
      body: parseInput(route.body, request.body ?? {}, 'body'),
      query: parseInput(route.query, request.query, 'query'),
    });
    const status = route.status ?? 200;
    return result instanceof RawReply ? { status, raw: result } : { status, body: result };
  };
}
