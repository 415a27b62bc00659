// `tollgate backup --out FILE` and `tollgate restore FILE`: a logical dump of the control plane and
// the ledger (src/backup/), on the configured database, Postgres or embedded PGlite alike. The
// embedded database belongs to one process: stop an embedded gateway before either.
import { writeBackup } from '../../backup/dump.js';
import type { BackupSummary } from '../../backup/format.js';
import { restoreBackup } from '../../backup/load.js';
import { loadConfig } from '../../config/load.js';
import { type Database, openDatabase } from '../../db/database.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from './keys.js';

async function withDatabase<T>(run: (database: Database) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    return await run(database);
  } finally {
    await database.close();
  }
}

function report(out: CommandContext['out'], json: unknown, verb: string, summary: BackupSummary): void {
  if (json) return out(JSON.stringify(summary));
  const total = Object.values(summary.rows).reduce((a, b) => a + b, 0);
  out(`${verb} ${total} rows in ${Object.keys(summary.rows).length} tables (migration level ${summary.migrationLevel}, sha256 ${summary.sha256})`);
  for (const [table, rows] of Object.entries(summary.rows)) out(`  ${table.padEnd(28)} ${rows}`);
}

export const backup: Command = {
  name: 'backup',
  summary: 'Write the control plane and usage ledger to --out FILE (gzip JSON lines; never overwrites).',
  options: { out: { type: 'string' }, json: { type: 'boolean', default: false } },
  async run({ values, out }) {
    if (typeof values.out !== 'string') throw new UsageError('backup needs --out FILE (a new file: an existing one is never overwritten)');
    const path = values.out;
    report(out, values.json, 'backed up', await withDatabase((database) => writeBackup(database, path)));
  },
};

export const restore: Command = {
  name: 'restore',
  summary: 'Load a backup FILE into an empty database, then migrate it (--force replaces what the database holds).',
  args: 'FILE',
  options: { force: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  async run({ values, positionals, out }) {
    const path = positionals[0];
    if (!path) throw new UsageError('restore needs a backup FILE (written by tollgate backup --out FILE)');
    report(out, values.json, 'restored', await withDatabase((database) => restoreBackup(database, path, { force: values.force === true })));
  },
};
