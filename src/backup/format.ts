// The backup file: gzip'd JSON lines. A header (format, version, the schema's migration level, the
// tables in load order), then per table a start marker with its columns, one line per row (the
// row as Postgres's row_to_json prints it, so bigints, timestamps and jsonb round-trip exactly,
// never through JS numbers), and an end marker with the row count and the sha256 of the row
// lines; a trailer closes the file with every count and the sha256 of all lines before it, so a
// truncated or edited file is refused before anything is committed.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const backupFormat = 'tollgate-backup';
export const backupVersion = 1;

export const headerSchema = z.object({
  $: z.literal('header'),
  format: z.literal(backupFormat),
  version: z.number().int(),
  createdAt: z.string(),
  source: z.enum(['postgres', 'pglite']),
  // The `when` of the newest migration applied to the database dumped (src/backup/migration-level.ts).
  migrationLevel: z.number().int().nonnegative(),
  tables: z.array(z.string()),
});
export type BackupHeader = z.infer<typeof headerSchema>;

export const markerSchema = z.discriminatedUnion('$', [
  z.object({
    $: z.literal('table'),
    name: z.string(),
    columns: z.array(z.string()).min(1),
    // A partitioned table's partitions, which a restore creates before loading its rows.
    partitions: z.array(z.object({ name: z.string(), bound: z.string() })).default([]),
  }),
  z.object({ $: z.literal('end'), name: z.string(), rows: z.number().int().nonnegative(), sha256: z.string() }),
  z.object({ $: z.literal('done'), rows: z.record(z.string(), z.number().int().nonnegative()), sha256: z.string() }),
]);
export type Marker = z.infer<typeof markerSchema>;

// Markers and the header start with {"$": ...}; a row never does (no column is named $).
export const isMarkerLine = (line: string): boolean => line.startsWith('{"$":');

export const markerLine = (marker: BackupHeader | Marker): string => JSON.stringify(marker);

export interface BackupSummary {
  migrationLevel: number;
  rows: Record<string, number>;
  sha256: string;
}

// sha256 over lines as written (each with its newline), for one table's rows and for the file.
export function lineDigest(): { add(line: string): void; hex(): string } {
  const hash = createHash('sha256');
  return {
    add(line) {
      hash.update(line).update('\n');
    },
    hex: () => hash.digest('hex'),
  };
}
