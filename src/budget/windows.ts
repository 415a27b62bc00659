// Window math for budgets: where the current minute/hour/day/month window starts and ends for an
// instant, in the budget's time zone. Pure apart from a small memo of the last span per
// (window, zone), so the hot path pays for Intl only when a window rolls over.
// Lua has no time-zone database, so these spans are computed here and passed to the scripts.

export type CalendarWindow = 'minute' | 'hour' | 'day' | 'month' | 'total';

export interface WindowSpan {
  readonly startMs: number;
  // null: the window never ends (window 'total').
  readonly endMs: number | null;
}

const minuteMs = 60_000;
const hourMs = 3_600_000;
const totalSpan: WindowSpan = Object.freeze({ startMs: 0, endMs: null });

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface WallTime {
  year: number;
  month: number; // 0-based, as Date.UTC takes it
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallTime(timeZone: string, epochMs: number): WallTime {
  const wall: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(epochMs)) {
    if (part.type === 'year') wall.year = Number(part.value);
    else if (part.type === 'month') wall.month = Number(part.value) - 1;
    else if (part.type === 'day') wall.day = Number(part.value);
    else if (part.type === 'hour') wall.hour = Number(part.value);
    else if (part.type === 'minute') wall.minute = Number(part.value);
    else if (part.type === 'second') wall.second = Number(part.value);
  }
  return wall;
}

const wallAsUtcMs = (w: WallTime): number => Date.UTC(w.year, w.month, w.day, w.hour, w.minute, w.second);

// The zone's offset from UTC at an instant (positive east of Greenwich), in whole seconds.
export function zoneOffsetMs(timeZone: string, epochMs: number): number {
  const wholeSecondMs = Math.floor(epochMs / 1000) * 1000;
  return wallAsUtcMs(wallTime(timeZone, wholeSecondMs)) - wholeSecondMs;
}

// The first instant whose wall-clock time in the zone is the given local midnight-ish time.
// Around a DST change the two offsets give two candidates: when both read as the wanted wall time
// (the hour repeats) the earlier one starts the window; when neither does (the hour is skipped, as
// at midnight in America/Santiago) the later one is the first instant of the new day.
function zonedToUtcMs(year: number, month: number, day: number, timeZone: string): number {
  const guessMs = Date.UTC(year, month, day);
  const first = guessMs - zoneOffsetMs(timeZone, guessMs);
  const second = guessMs - zoneOffsetMs(timeZone, first);
  const matches = [first, second].filter((t) => wallAsUtcMs(wallTime(timeZone, t)) === guessMs);
  return matches.length > 0 ? Math.min(...matches) : Math.max(first, second);
}

function computeSpan(window: CalendarWindow, timeZone: string, nowMs: number): WindowSpan {
  switch (window) {
    case 'minute': {
      // Every zone in use today is offset by whole minutes, so UTC minutes are local minutes.
      const startMs = Math.floor(nowMs / minuteMs) * minuteMs;
      return { startMs, endMs: startMs + minuteMs };
    }
    case 'hour': {
      // Offsets of :30 and :45 (India, Nepal) move the hour boundary; DST moves it by whole hours.
      const offsetMs = zoneOffsetMs(timeZone, nowMs);
      const startMs = Math.floor((nowMs + offsetMs) / hourMs) * hourMs - offsetMs;
      return { startMs, endMs: startMs + hourMs };
    }
    case 'day': {
      const w = wallTime(timeZone, nowMs);
      return { startMs: zonedToUtcMs(w.year, w.month, w.day, timeZone), endMs: zonedToUtcMs(w.year, w.month, w.day + 1, timeZone) };
    }
    case 'month': {
      const w = wallTime(timeZone, nowMs);
      return { startMs: zonedToUtcMs(w.year, w.month, 1, timeZone), endMs: zonedToUtcMs(w.year, w.month + 1, 1, timeZone) };
    }
    case 'total':
      return totalSpan;
  }
}

const lastSpans = new Map<string, WindowSpan>();

// The window of the given kind that contains nowMs, in the given IANA time zone.
export function windowSpan(window: CalendarWindow, timeZone: string, nowMs: number): WindowSpan {
  if (window === 'total') return totalSpan;
  const memoKey = `${window}|${timeZone}`;
  const last = lastSpans.get(memoKey);
  if (last && nowMs >= last.startMs && last.endMs !== null && nowMs < last.endMs) return last;
  const span = computeSpan(window, timeZone, nowMs);
  lastSpans.set(memoKey, span);
  return span;
}
