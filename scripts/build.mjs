#!/usr/bin/env node
// Compiles Tollgate to plain JavaScript: `node scripts/build.mjs [outDir]` (default dist/).
//
// The output mirrors the source tree file for file (src/, workers/, drizzle/, config/,
// bin/tollgate.js and package.json), .ts compiled to .js and every other file copied, because the code finds its
// assets by paths relative to itself: Lua scripts beside the store, the console's static files,
// drizzle/migrations, workers/tokenize, config/*.yaml and package.json two levels above src/x/.
// Each module is transformed alone (no bundle), so imports stay as written: the sources already
// import each other by their compiled `.js` names. Run the result with node_modules beside it
// (or above it): `node dist/bin/tollgate.js serve`.
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'dist'));
const trees = ['src', 'workers', 'drizzle', 'config'];
// Not bin/typescript*.js: a build that loads TypeScript would fail instead of quietly compiling.
const singles = ['bin/tollgate.js', 'package.json'];

const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));

const files = [...trees.flatMap((tree) => walk(join(root, tree))), ...singles.map((file) => join(root, file))];
const sources = files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));

rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: sources,
  outdir: outDir,
  outbase: root,
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // As bin/typescript-hooks.js and tsconfig.json: imports stay as written, class fields use define.
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
});
for (const file of files.filter((f) => !f.endsWith('.ts'))) {
  const target = join(outDir, relative(root, file));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}
console.log(`compiled ${sources.length} modules to ${relative(process.cwd(), outDir) || '.'}`);
