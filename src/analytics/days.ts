// Calendar days as 'YYYY-MM-DD' strings: the unit every analytics series is indexed by. Pure
// arithmetic on the proleptic calendar (no time zone: a day string is already local to its zone).
const dayMs = 86_400_000;
const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

const epochDay = (day: string): number => {
  if (!dayPattern.test(day)) throw new RangeError(`not a calendar day (YYYY-MM-DD): ${day}`);
  return Date.parse(`${day}T00:00:00Z`) / dayMs;
};

const dayOfEpoch = (n: number): string => new Date(n * dayMs).toISOString().slice(0, 10);

export const addDays = (day: string, days: number): string => dayOfEpoch(epochDay(day) + days);

// Whole days from `from` to `to` (negative when `to` is earlier).
export const daysBetween = (from: string, to: string): number => epochDay(to) - epochDay(from);

// 0 = Sunday … 6 = Saturday, as Date#getUTCDay counts.
export const dayOfWeek = (day: string): number => (((epochDay(day) + 4) % 7) + 7) % 7;

// The local calendar day of an instant in an IANA zone.
export function dayInZone(epochMs: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(epochMs);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

export interface DayAmount {
  readonly day: string;
  readonly amount: number;
}
