#!/usr/bin/env node
// The published entry point: the TypeScript sources run through bin/typescript.js, no build step.
import './typescript.js';

await import('../src/cli/main.ts');
