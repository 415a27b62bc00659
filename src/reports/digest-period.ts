// Which period a digest covers: the latest local day, Monday-to-Sunday week or calendar month that
// ended at least `graceMs` ago in the schedule's zone (the grace lets the last events of the period
// reach the ledger). Pure calendar arithmetic on local day strings.
import { addDays, dayInZone, dayOfWeek } from '../analytics/days.js';
import type { DigestCadence } from '../../drizzle/schema/reports.js';

export interface DigestPeriod {
  // Local calendar days, both included.
  readonly from: string;
  readonly to: string;
}

// The period just before `period` of the same cadence.
export function previousPeriod(cadence: DigestCadence, period: DigestPeriod): DigestPeriod {
  const to = addDays(period.from, -1);
  switch (cadence) {
    case 'daily':
      return { from: to, to };
    case 'weekly':
      return { from: addDays(period.from, -7), to };
    case 'monthly':
      return { from: `${to.slice(0, 8)}01`, to };
  }
}

export function latestCompletePeriod(cadence: DigestCadence, nowMs: number, tz: string, graceMs: number): DigestPeriod {
  // The local day it was `graceMs` ago: every period ending before it is complete and settled.
  const today = dayInZone(nowMs - graceMs, tz);
  switch (cadence) {
    case 'daily': {
      const day = addDays(today, -1);
      return { from: day, to: day };
    }
    case 'weekly': {
      const monday = addDays(today, -((dayOfWeek(today) + 6) % 7));
      return { from: addDays(monday, -7), to: addDays(monday, -1) };
    }
    case 'monthly': {
      const firstOfMonth = `${today.slice(0, 8)}01`;
      const lastOfPrevious = addDays(firstOfMonth, -1);
      return { from: `${lastOfPrevious.slice(0, 8)}01`, to: lastOfPrevious };
    }
  }
}
