// `npm run bench [-- name … [--option value …]]`: runs each benchmark in its own process, one after another, so they
// do not compete for the machine's two cores. With no names, runs every bench that exists.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const all = ['proxy', 'tokens', 'budget', 'usage', 'outage', 'keys', 'bedrock'];
// Names first, then options for every selected bench: `npm run bench -- proxy --rounds 3`.
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const selected = names.length > 0 ? names : all;
const root = new URL('..', import.meta.url).pathname;
let failed = 0;
for (const name of selected) {
  const file = `bench/${name}.ts`;
  if (!existsSync(`${root}${file}`)) {
    process.stdout.write(`\n== ${name}: no ${file}, skipped\n`);
    continue;
  }
  process.stdout.write(`\n== ${name}\n`);
  const result = spawnSync(process.execPath, ['--import', './bin/typescript.js', file, ...options], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
