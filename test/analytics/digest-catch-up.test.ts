// A digest period missed while no replica ran is sent once when one comes back: the period before
// the latest, never older ones, never for a schedule created after it ended, and once however many
// replicas run the pass at the same time. On PGlite, through the runner's own pass.
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgs } from '../../drizzle/schema/index.js';
import { reportDigests, reportSchedules } from '../../drizzle/schema/reports.js';
import { previousPeriod } from '../../src/reports/digest-period.js';
import { runDueDigests } from '../../src/reports/digest-runner.js';
import { reportsSchema } from '../../src/reports/config.js';
import { createPgliteDatabase, type TestDatabase } from '../usage/support.js';

const nowMs = Date.parse('2026-11-20T12:00:00Z');

describe('digest catch-up', () => {
  let db: TestDatabase;
  const options = () => ({ db: db.database.db, config: reportsSchema.parse({ digestGraceMs: 0 }), logger: pino({ level: 'silent' }) });
  const periods = async (scheduleId: string) =>
    (await db.database.db.select().from(reportDigests).where(eq(reportDigests.scheduleId, scheduleId))).map((r) => `${r.periodFrom}:${r.state}`).sort();

  beforeAll(async () => {
    db = await createPgliteDatabase();
    await db.database.db.insert(orgs).values({ id: 'org_c', name: 'c' });
  });
  afterAll(async () => {
    await db?.drop();
  });

  const schedule = (id: string, createdAt: string, enabled = true) =>
    db.database.db.insert(reportSchedules).values({ id, orgId: 'org_c', name: id, cadence: 'daily', tz: 'UTC', createdAt: new Date(createdAt), enabled });

  it('sends the missed day before the latest once, and nothing older', async () => {
    await schedule('sch_old', '2026-11-01T00:00:00Z');
    expect(await runDueDigests(options(), nowMs)).toBe(2);
    expect(await periods('sch_old')).toEqual(['2026-11-18:queued', '2026-11-19:queued']);
    expect(await runDueDigests(options(), nowMs)).toBe(0);
    // A day later only the new latest day is due.
    expect(await runDueDigests(options(), nowMs + 86_400_000)).toBe(1);
    expect(await periods('sch_old')).toEqual(['2026-11-18:queued', '2026-11-19:queued', '2026-11-20:queued']);
    await db.database.db.update(reportSchedules).set({ enabled: false });
  });

  it('owes nothing from before the schedule existed', async () => {
    await schedule('sch_new', '2026-11-19T06:00:00Z');
    expect(await runDueDigests(options(), nowMs)).toBe(1);
    expect(await periods('sch_new')).toEqual(['2026-11-19:queued']);
    await db.database.db.update(reportSchedules).set({ enabled: false });
  });

  it('sends the catch-up once when two replicas run the pass together', async () => {
    await schedule('sch_pair', '2026-11-01T00:00:00Z');
    const sent = await Promise.all([runDueDigests(options(), nowMs), runDueDigests(options(), nowMs)]);
    expect(sent[0]! + sent[1]!).toBe(2);
    expect(await periods('sch_pair')).toEqual(['2026-11-18:queued', '2026-11-19:queued']);
  });

  it('steps back a day, a Monday week and a calendar month', () => {
    expect(previousPeriod('daily', { from: '2026-03-01', to: '2026-03-01' })).toEqual({ from: '2026-02-28', to: '2026-02-28' });
    expect(previousPeriod('weekly', { from: '2026-11-16', to: '2026-11-22' })).toEqual({ from: '2026-11-09', to: '2026-11-15' });
    expect(previousPeriod('monthly', { from: '2026-03-01', to: '2026-03-31' })).toEqual({ from: '2026-02-01', to: '2026-02-28' });
  });
});
