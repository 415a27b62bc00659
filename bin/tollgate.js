#!/usr/bin/env node
// The published entry point. In a build (scripts/build.mjs copies this file to dist/bin/) the
// compiled JavaScript sits beside it and runs as it is; in a clone the TypeScript sources run
// through bin/typescript.js, so `npm start` needs no build step.
import { existsSync } from 'node:fs';

const compiled = new URL('../src/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  // Stack traces point at the .ts lines (the build writes linked source maps).
  process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  await import('./typescript.js');
  await import('../src/cli/main.ts');
}
