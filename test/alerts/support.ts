// A migrated database of either kind for alert tests (a fresh Postgres database or a PGlite data
// directory), with one org, and alerting's pieces built on it with a clock the test moves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { orgs } from '../../drizzle/schema/index.js';
import { startAlerts, type Alerts } from '../../src/alerts/index.js';
import { alertsSchema, type AlertsConfig } from '../../src/alerts/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createTestDatabase } from '../helpers/services.js';

export type Kind = 'postgres' | 'pglite';

export interface AlertDb {
  database: Database;
  reopen(): Promise<Database>;
  drop(): Promise<void>;
}

export async function openAlertDb(kind: Kind, label: string): Promise<AlertDb> {
  if (kind === 'postgres') {
    const created = await createTestDatabase(label);
    const open = () => openDatabase({ databaseUrl: created.url, dataDir: '' });
    const state = { database: await open() };
    await state.database.migrate();
    await state.database.db.insert(orgs).values({ id: 'org_a', name: 'acme' });
    return {
      get database() { return state.database; },
      async reopen() { return (state.database = await open()); },
      async drop() { await state.database.close().catch(() => {}); await created.drop(); },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), `tollgate-${label}-`));
  const open = () => openDatabase({ dataDir });
  const state = { database: await open() };
  await state.database.migrate();
  await state.database.db.insert(orgs).values({ id: 'org_a', name: 'acme' });
  return {
    get database() { return state.database; },
    async reopen() { return (state.database = await open()); },
    async drop() { await state.database.close().catch(() => {}); rmSync(dataDir, { recursive: true, force: true }); },
  };
}

export const testClock = (startMs = Date.parse('2026-03-02T10:00:00Z')) => {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => void (now += ms), set: (ms: number) => void (now = ms) };
};

export function alertsConfig(overrides: Record<string, unknown> = {}, delivery: Record<string, unknown> = {}): AlertsConfig {
  return alertsSchema.parse({ allowPrivateDestinations: true, delivery: { pollIntervalMs: 50, backoffBaseMs: 100, backoffMaxMs: 400, ...delivery }, ...overrides });
}

export function startTestAlerts(database: Database, config: AlertsConfig, clock?: () => number): Alerts & { registry: Registry } {
  const registry = new Registry();
  const alerts = startAlerts({ db: database.db, config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), registry, ...(clock ? { clock } : {}) });
  return Object.assign(alerts, { registry });
}
