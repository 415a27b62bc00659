// `tollgate catalog import|list|show`: bring a community price list into the catalog overrides
// file, and read the catalog the gateway would load (shipped, overrides, tollgate.yaml).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { catalogOverridesPath, configFilePath, loadConfig } from '../../config/load.js';
import type { CatalogModel, TokenPriceMicros } from '../../config/catalog.js';
import { importFormats, type ImportFormat, convertList, planImport } from '../../catalog/import-plan.js';
import { readOverrides, writeOverrides } from '../../catalog/overrides-file.js';
import type { Command } from '../command.js';
import { print } from '../output.js';
import { UsageError } from './keys.js';

const encodings = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base', 'estimate'] as const;

export const catalogImport: Command = {
  name: 'catalog import',
  summary: 'Import LiteLLM or models.dev prices into the catalog overrides file.',
  options: {
    format: { type: 'string' },
    from: { type: 'string' },
    provider: { type: 'string' },
    encoding: { type: 'string' },
    replace: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals, out }) {
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('catalog import needs one FILE (model_prices_and_context_window.json or api.json)');
    const format = values.format as string | undefined;
    if (format !== undefined && !(importFormats as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${importFormats.join(', ')}`);
    const encoding = (values.encoding as string | undefined) ?? 'estimate';
    if (!(encodings as readonly string[]).includes(encoding)) throw new UsageError(`--encoding must be one of ${encodings.join(', ')}`);

    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
    }
    const config = loadConfig();
    const path = catalogOverridesPath(config, configFilePath(process.env));
    const current = readOverrides(path);
    const list = convertList(json, format as ImportFormat | undefined);
    const plan = planImport(
      list,
      { from: values.from as string | undefined, provider: values.provider as string | undefined, encoding: encoding as (typeof encodings)[number], replace: values.replace === true },
      { providers: new Set(config.providers.keys()), catalog: config.catalog, overridden: new Set(Object.keys(current)) },
    );
    const summary = { format: list.format, file: path, imported: Object.keys(plan.models).length, skipped: plan.skipped.length, reasons: countReasons(plan.skipped) };
    if (values['dry-run'] !== true && summary.imported > 0) {
      const before = readFileOrNull(path);
      // Field by field, so what a previous import or a hand edit set and this list does not say stays.
      const merged = { ...current };
      for (const [name, entry] of Object.entries(plan.models)) merged[name] = { ...current[name], ...entry };
      writeOverrides(path, merged);
      // The gateway must still start on the result (alias clashes, provider names): check it now.
      try {
        loadConfig();
      } catch (err) {
        if (before === null) rmSync(path);
        else writeFileSync(path, before);
        throw err;
      }
    }
    if (values.json) print(out, true, { ...summary, models: Object.keys(plan.models), skippedModels: plan.skipped });
    else out(`${values['dry-run'] ? 'would import' : 'imported'} ${summary.imported} ${list.format} models into ${path}; skipped ${summary.skipped}${describeReasons(summary.reasons)}`);
  },
};

function readFileOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

// "provider groq is not configured: 120" rather than 120 lines; the model names go to --json.
function countReasons(skipped: ReadonlyArray<{ reason: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { reason } of skipped) counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}

const describeReasons = (counts: Record<string, number>): string => {
  const parts = Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${reason}: ${n}`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
};

const usd = (micros: number | undefined): number | undefined => (micros === undefined ? undefined : micros / 1_000_000);

const usdPrices = (p: TokenPriceMicros) => ({
  inputPerMTok: usd(p.inputPerMTok),
  cachedInputPerMTok: usd(p.cachedInputPerMTok),
  cacheWritePerMTok: usd(p.cacheWritePerMTok),
  cacheWrite1hPerMTok: usd(p.cacheWrite1hPerMTok),
  outputPerMTok: usd(p.outputPerMTok),
});

// A catalog model as a user reads it: prices back in USD, as the catalog files write them.
function describeModel(m: CatalogModel) {
  const { longContext, tiers } = m.price;
  const unitsUsd = m.units && Object.fromEntries(Object.entries(m.units).map(([k, v]) => [k, typeof v === 'number' ? usd(v) : Object.fromEntries(Object.entries(v).map(([s, p]) => [s, usd(p)]))]));
  return {
    name: m.name,
    provider: m.provider,
    upstreamModel: m.upstreamModel,
    kind: m.kind ?? 'text',
    encoding: m.encoding,
    contextWindow: m.contextWindow,
    maxOutputTokens: m.maxOutputTokens,
    reasoning: m.reasoning ?? false,
    price: {
      ...usdPrices(m.price),
      ...(longContext ? { longContext: { aboveInputTokens: longContext.aboveInputTokens, ...usdPrices(longContext.price) } } : {}),
      ...(tiers ? { tiers: Object.fromEntries(Object.entries(tiers).map(([name, t]) => [name, usdPrices(t)])) } : {}),
    },
    ...(unitsUsd ? { units: unitsUsd } : {}),
    ...(m.priceEstimated ? { priceEstimated: true } : {}),
  };
}

export const catalogList: Command = {
  name: 'catalog list',
  summary: 'List the catalog the gateway loads (--provider P, --json).',
  options: { provider: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, out }) {
    const models = loadConfig().catalog.list().filter((m) => values.provider === undefined || m.provider === values.provider);
    if (values.json) {
      print(out, true, models.map(describeModel));
      return;
    }
    const rows = models.map((m) => ({
      name: m.name,
      provider: m.provider,
      kind: m.kind ?? 'text',
      input: usd(m.price.inputPerMTok),
      output: usd(m.price.outputPerMTok),
      context: m.contextWindow,
      tiers: [...Object.keys(m.price.tiers ?? {}), ...(m.price.longContext ? ['long-context'] : [])].join(',') || undefined,
    }));
    print(out, false, rows, ['name', 'provider', 'kind', 'input', 'output', 'context', 'tiers']);
  },
};

export const catalogShow: Command = {
  name: 'catalog show',
  summary: 'Show one model (name or alias): provider, limits and every price.',
  options: {},
  async run({ positionals, out }) {
    const name = positionals[0];
    if (!name) throw new UsageError('catalog show needs a MODEL');
    const model = loadConfig().catalog.resolve(name);
    if (!model) throw new Error(`no model "${name}" in the catalog, and no provider prices it as an unknown model`);
    print(out, undefined, describeModel(model));
  },
};
