// How report figures read, shared by every format so a total in the PDF is the same text as in the
// HTML: money exact to the micro-dollar (integer arithmetic, no float rounding), counts grouped.
const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const count = (n: number): string => grouped.format(n);

export function usd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}$${grouped.format(Math.floor(abs / 1_000_000))}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

export const percent = (part: number, whole: number): string => (whole === 0 ? '0%' : `${((part * 100) / whole).toFixed(1)}%`);

// A budget amount in its metric's unit.
export const amount = (metric: string, n: number | null): string => (n === null ? 'none' : metric === 'costMicros' ? usd(n) : count(n));
