// Sends scheduled digests, exactly once per schedule and period however many replicas run this.
// Every replica looks for due digests each interval; for each, a replica first claims the
// (schedule, period) row (insert, or take over a claim whose time ran out), builds the report
// outside any transaction, then in one transaction marks the row queued only if its claim still
// holds and writes the outbox rows. A replica that dies mid-build leaves a claim that expires; one
// that finishes late finds its claim taken and writes nothing. The outbox sender does the rest.
import { randomBytes } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { alertChannels } from '../../drizzle/schema/index.js';
import { reportDigests, reportSchedules } from '../../drizzle/schema/reports.js';
import { enqueue } from '../alerts/outbox.js';
import { buildReport, type ReportRequest } from '../analytics/report-data.js';
import { everything } from '../control/visibility.js';
import type { Db } from '../db/database.js';
import type { ReportsConfig } from './config.js';
import { type DigestPeriod, latestCompletePeriod, previousPeriod } from './digest-period.js';
import { digestPayload } from './digest-payload.js';
import type { ReportSchedule } from './schedules.js';

export interface DigestRunnerOptions {
  readonly db: Db;
  readonly config: ReportsConfig;
  readonly logger: Logger;
  // The catalog and config budgets, for the report's recommendations and budgets.
  readonly analytics?: ReportRequest['analytics'];
  readonly clock?: () => number;
}

const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

// Claims (schedule, period) for this attempt; the claim token, or null when it is not ours to build.
async function claim(db: Db, schedule: ReportSchedule, period: DigestPeriod, nowMs: number, claimMs: number): Promise<string | null> {
  const token = randomBytes(9).toString('base64url');
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      insert into report_digests (schedule_id, period_from, period_to, claimed_by, claimed_until)
      values (${schedule.id}, ${period.from}::date, ${period.to}::date, ${token}, ${new Date(nowMs + claimMs)})
      on conflict (schedule_id, period_from) do update set claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until
        where report_digests.state = 'building' and report_digests.claimed_until < ${new Date(nowMs)}
      returning id`),
  );
  return rows.length > 0 ? token : null;
}

export async function sendDigest(options: DigestRunnerOptions, schedule: ReportSchedule, period: DigestPeriod, nowMs: number): Promise<boolean> {
  const { db, config } = options;
  const token = await claim(db, schedule, period, nowMs, config.digestClaimMs);
  if (!token) return false;
  const report = await buildReport(db, everything, {
    orgId: schedule.orgId, teamId: schedule.teamId ?? undefined, from: period.from, to: period.to, tz: schedule.tz, top: schedule.top, nowMs, analytics: options.analytics,
  });
  // JSON round trip: the payload is stored as jsonb and must read back as it was sent.
  const payload = JSON.parse(JSON.stringify(digestPayload({ scheduleId: schedule.id, scheduleName: schedule.name, cadence: schedule.cadence, orgId: schedule.orgId, teamId: schedule.teamId, from: period.from, to: period.to, tz: schedule.tz, report }, nowMs)));
  return db.transaction(async (tx) => {
    const queued = await tx
      .update(reportDigests)
      .set({ state: 'queued', queuedAt: new Date(nowMs), totals: { costMicros: report.totals.costMicros, requests: report.totals.requests } })
      .where(and(eq(reportDigests.scheduleId, schedule.id), eq(reportDigests.periodFrom, period.from), eq(reportDigests.claimedBy, token), eq(reportDigests.state, 'building')))
      .returning({ id: reportDigests.id });
    if (queued.length === 0) return false;
    // Channels removed since the schedule was saved are skipped; disabled ones the sender drops.
    const channels = await tx.select({ id: alertChannels.id }).from(alertChannels).where(inArray(alertChannels.id, schedule.channelIds.length ? schedule.channelIds : ['']));
    await enqueue(tx, null, channels.map((c) => c.id), 'digest', payload, nowMs);
    return true;
  });
}

// The periods a schedule owes: the latest complete one, and the one before it when the schedule
// already existed when that one ended and its digest was never queued (every replica was down
// through the whole of the latest period; claims make it once across replicas as for any period). Older ones are not backfilled: a fleet down for
// months sends one catch-up, not a flood.
async function duePeriods(db: Db, schedule: ReportSchedule, latest: DigestPeriod): Promise<DigestPeriod[]> {
  const previous = previousPeriod(schedule.cadence, latest);
  const rows = await db
    .select({ from: reportDigests.periodFrom, state: reportDigests.state })
    .from(reportDigests)
    .where(and(eq(reportDigests.scheduleId, schedule.id), inArray(reportDigests.periodFrom, [previous.from, latest.from])));
  const state = new Map(rows.map((r) => [r.from, r.state]));
  // Created a day before the latest period's first day read as UTC (the day covers any zone's
  // offset): the schedule existed when the previous period ended.
  const existedThen = schedule.createdAt.getTime() <= Date.parse(`${latest.from}T00:00:00Z`) - 86_400_000;
  return [previous, latest].filter((p) => state.get(p.from) !== 'queued' && (p === latest || existedThen));
}

// One pass: every enabled schedule's due periods (see duePeriods), oldest first.
export async function runDueDigests(options: DigestRunnerOptions, nowMs: number): Promise<number> {
  const { db, config } = options;
  const schedules = await db.select().from(reportSchedules).where(eq(reportSchedules.enabled, true));
  let sent = 0;
  for (const schedule of schedules) {
    for (const period of await duePeriods(db, schedule, latestCompletePeriod(schedule.cadence, nowMs, schedule.tz, config.digestGraceMs))) {
      if (await sendDue(options, schedule, period, nowMs)) sent++;
    }
  }
  return sent;
}

async function sendDue(options: DigestRunnerOptions, schedule: ReportSchedule, period: DigestPeriod, nowMs: number): Promise<boolean> {
  try {
    const queued = await sendDigest(options, schedule, period, nowMs);
    if (queued) options.logger.info({ schedule: schedule.id, from: period.from, to: period.to }, 'report digest queued');
    return queued;
  } catch (err) {
    options.logger.warn({ err: (err as Error).message, schedule: schedule.id }, 'report digest failed; retried when its claim runs out');
    return false;
  }
}

export interface Digests {
  stop(): Promise<void>;
}

export function startDigests(options: DigestRunnerOptions): Digests {
  const clock = options.clock ?? Date.now;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  // A pass still building a report when the next is due is let finish instead of overlapped.
  const tick = () => {
    if (stopped || running) return;
    running = runDueDigests(options, clock())
      .catch((err: unknown) => options.logger.warn({ err: (err as Error).message }, 'report schedules unreadable; retrying next interval'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, options.config.digestIntervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
