// Display only: units the APIs give (micro-USD, counts, ISO times) as text people read.
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
// Under a cent, cents would read as nothing spent: four decimals there.
const smallUsd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 4, maximumFractionDigits: 4 });
const count = new Intl.NumberFormat('en-US');

export function money(micros) {
  if (micros === null || micros === undefined) return '—';
  return (micros !== 0 && Math.abs(micros) < 10_000 ? smallUsd : usd).format(micros / 1_000_000);
}
export const num = (n) => (n === null || n === undefined ? '—' : count.format(n));
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

export const amount = (metric, value) => (metric === 'costMicros' || metric === 'cost' ? money(value) : num(value));

export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

// Today's calendar date in the browser's zone, YYYY-MM-DD, and ranges built from it.
export function localToday() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timeZone(), year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  return parts;
}
export const monthStart = (day) => `${day.slice(0, 8)}01`;
export function daysBefore(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}
