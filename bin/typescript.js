// Runs the TypeScript sources without a build step: `node --import ./bin/typescript.js file.ts`,
// or import it first (bin/tollgate.js does). esbuild strips the types as each module loads.
//
// Why not tsx: it always compiles with esbuild's keepNames, which wraps every closure created on
// the request path in a naming call; that cost the gateway 8-10% CPU per request (bench/proxy).
import { register } from 'node:module';

register('./typescript-hooks.js', import.meta.url);
// Stack traces point at the .ts lines (the hooks emit inline source maps).
process.setSourceMapsEnabled(true);
