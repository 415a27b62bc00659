// The console's browser files: read once at startup from ./static and the Preact+htm module in
// node_modules (no build step, nothing fetched at run time), served under a path naming a hash of
// them all, so every asset can be cached as immutable and a new release is a new path.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface StaticAssets {
  // Changes whenever any file does; part of every asset path.
  readonly version: string;
  // The page that loads the app, with the versioned asset paths filled in.
  readonly indexHtml: Buffer;
  find(version: string, path: string): Asset | undefined;
}

const contentTypes: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}

export function loadStaticAssets(dir = fileURLToPath(new URL('./static/', import.meta.url))): StaticAssets {
  const files = new Map<string, Buffer>();
  for (const file of walk(dir)) files.set(relative(dir, file).split('\\').join('/'), readFileSync(file));
  files.set('vendor/preact-htm.js', readFileSync(fileURLToPath(import.meta.resolve('htm/preact/standalone'))));
  const template = files.get('index.html');
  if (!template) throw new Error(`The console has no index.html in ${dir}`);
  files.delete('index.html');

  const digest = createHash('sha256');
  for (const name of [...files.keys()].sort()) digest.update(name).update('\0').update(files.get(name)!);
  const version = digest.digest('hex').slice(0, 16);
  const assets = new Map<string, Asset>();
  for (const [name, body] of files) {
    const contentType = contentTypes[extname(name)];
    if (contentType) assets.set(name, { body, contentType });
  }
  return {
    version,
    indexHtml: Buffer.from(template.toString('utf8').replaceAll('{{assets}}', `/dashboard/assets/${version}`)),
    find: (v, path) => (v === version ? assets.get(path) : undefined),
  };
}
