// The catalog overrides file `tollgate catalog import` writes: the same shape as config/models.yaml
// (models: name -> fields), merged over the shipped catalog and under tollgate.yaml's `models:`.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';

export type OverrideModels = Record<string, Record<string, unknown>>;

export function readOverrides(path: string): OverrideModels {
  if (!existsSync(path)) return {};
  const parsed = parse(readFileSync(path, 'utf8')) as { models?: OverrideModels } | null;
  return parsed?.models ?? {};
}

const header = '# Catalog overrides written by `tollgate catalog import`; edit freely, re-import to refresh.\n';

// Written beside itself and renamed, so a gateway starting meanwhile reads the old file or the new.
export function writeOverrides(path: string, models: OverrideModels): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, header + stringify({ models }, { lineWidth: 0 }));
  renameSync(temporary, path);
}
