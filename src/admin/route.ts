// The shape of one admin API route: method, path template, the permission it needs, zod schemas
// for its body and query, and a handler. The router, the OpenAPI document and the RBAC test suite
// are all built from the same list of these.
import type { z } from 'zod';
import type { AlertsConfig } from '../alerts/config.js';
import type { AlertRulesConfig } from '../alerts/rules-config.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { BudgetRule } from '../budget/rules.js';
import type { AnalyticsConfig } from '../analytics/config.js';
import type { Catalog } from '../config/catalog.js';
import type { ChangeContext } from '../control/actor.js';
import type { Db } from '../db/database.js';
import type { Access } from './access.js';
import type { Permission } from './rbac.js';

export interface AdminSettings {
  readonly rotationGraceMs: number;
  readonly maxKeysPerUser: number;
  // What GET /analytics needs beyond the database: the model catalog (cheaper-model and cache
  // recommendations), the config file's budget rules and `analytics` options; without it those
  // are left out (options at their defaults).
  readonly analytics?: { readonly catalog: Catalog; readonly configRules: readonly BudgetRule[]; readonly config?: AnalyticsConfig } | undefined;
  // Alert channel checks and test sends (private destinations, SMTP); the defaults without it.
  readonly alerts?: AlertsConfig | undefined;
  // The config file's alert rule settings, which stored overrides lay over; the defaults without it.
  readonly alertRules?: AlertRulesConfig | undefined;
}

export interface RouteContext<B, Q> {
  readonly db: Db;
  readonly bus: InvalidationBus;
  readonly settings: AdminSettings;
  readonly access: Access;
  readonly change: ChangeContext;
  readonly params: Readonly<Record<string, string>>;
  readonly body: B;
  readonly query: Q;
}

// A non-JSON answer (CSV export, JSON lines, a PDF report).
export class RawReply {
  constructor(
    readonly contentType: string,
    readonly text: string | Buffer,
  ) {}
}

export interface Route<B = unknown, Q = unknown> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  // Under /admin/v1, with :name parameters.
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly permission: Permission;
  readonly body?: z.ZodType<B>;
  readonly query?: z.ZodType<Q>;
  // 201 for creations.
  readonly status?: number;
  handle(ctx: RouteContext<B, Q>): Promise<unknown>;
}

// Erases the body and query types so routes of different shapes fit in one list.
export const route = <B, Q>(r: Route<B, Q>): Route => r as unknown as Route;
