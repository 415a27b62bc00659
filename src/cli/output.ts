// Printing command results: JSON for scripts (--json), aligned columns for people.
export function table(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

export function print(out: (line: string) => void, json: unknown, value: unknown, columns?: readonly string[]): void {
  if (json || !columns) {
    out(JSON.stringify(value, null, json ? undefined : 2));
    return;
  }
  const rows = Array.isArray(value) ? value : ((value as { data?: unknown[] }).data ?? [value]);
  out(table(rows as Array<Record<string, unknown>>, columns));
}
