// What the terminal dashboard shows, as plain data: one snapshot per refresh, each section either
// its rows or why it is missing (a route this gateway does not have, a role that may not read it).
import type { Traffic } from './traffic.js';

export type Section<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export interface BudgetLine {
  readonly orgName: string;
  readonly scope: string;
  readonly subject: string;
  readonly metric: 'costMicros' | 'tokens' | 'requests';
  readonly window: string;
  readonly usedAmount: number;
  readonly limitAmount: number;
}

export interface UserLine {
  readonly user: string;
  readonly requests: number;
  readonly tokens: number;
  readonly costMicros: number;
}

export interface SpendToday {
  readonly day: string;
  readonly requests: number;
  readonly costMicros: number;
  // Users with the most spend today, most first.
  readonly users: readonly UserLine[];
}

export interface AlertLine {
  readonly severity: string;
  readonly name: string;
  readonly summary: string;
  readonly firstSeenAt: string;
}

export interface Snapshot {
  readonly gateway: string;
  // The --org the admin sections are limited to; null: everything the credential may see.
  readonly org: string | null;
  readonly atMs: number;
  readonly traffic: Section<Traffic>;
  readonly spend: Section<SpendToday>;
  // Fullest first.
  readonly budgets: Section<readonly BudgetLine[]>;
  readonly alerts: Section<readonly AlertLine[]>;
}
