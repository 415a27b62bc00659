// The model catalog: model name or alias -> provider, upstream name, encoding, limits and prices.
// Prices arrive as USD per 1M tokens and are held as integer micro-USD per 1M tokens.
import type { ModelConfig } from './schema.js';

export type Encoding = ModelConfig['encoding'];

export interface ModelPriceMicros {
  readonly inputPerMTok: number;
  readonly cachedInputPerMTok: number;
  readonly cacheWritePerMTok: number;
  readonly outputPerMTok: number;
}

export interface CatalogModel {
  readonly name: string;
  readonly provider: string;
  readonly upstreamModel: string;
  readonly encoding: Encoding;
  readonly contextWindow: number;
  readonly maxOutputTokens: number;
  // Bills hidden reasoning tokens: cost can precede (and far exceed) the visible output. Always
  // set from config; optional only so hand-built test and bench models may leave it out.
  readonly reasoning?: boolean;
  readonly price: ModelPriceMicros;
}

export interface Catalog {
  resolve(name: string): CatalogModel | undefined;
  list(): readonly CatalogModel[];
}

const usdToMicros = (usd: number): number => Math.round(usd * 1_000_000);

export function buildCatalog(
  models: Readonly<Record<string, ModelConfig>>,
  extraAliases: Readonly<Record<string, string>>,
  knownProviders: ReadonlySet<string>,
): Catalog {
  const byName = new Map<string, CatalogModel>();
  const entries: CatalogModel[] = [];
  for (const [name, m] of Object.entries(models)) {
    if (!knownProviders.has(m.provider)) {
      throw new Error(`models.${name}.provider names unknown provider "${m.provider}"`);
    }
    const entry: CatalogModel = Object.freeze({
      name,
      provider: m.provider,
      upstreamModel: m.upstreamModel ?? name,
      encoding: m.encoding,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      reasoning: m.reasoning,
      price: Object.freeze({
        inputPerMTok: usdToMicros(m.price.inputPerMTok),
        cachedInputPerMTok: usdToMicros(m.price.cachedInputPerMTok ?? m.price.inputPerMTok),
        cacheWritePerMTok: usdToMicros(m.price.cacheWritePerMTok ?? m.price.inputPerMTok),
        outputPerMTok: usdToMicros(m.price.outputPerMTok),
      }),
    });
    entries.push(entry);
    byName.set(name, entry);
  }
  const addAlias = (alias: string, target: string, path: string): void => {
    const entry = byName.get(target);
    if (!entry) throw new Error(`${path} points at unknown model "${target}"`);
    if (byName.has(alias) && byName.get(alias) !== entry) {
      throw new Error(`${path}: alias "${alias}" is already a model or another alias`);
    }
    byName.set(alias, entry);
  };
  for (const [name, m] of Object.entries(models)) {
    m.aliases.forEach((alias, i) => addAlias(alias, name, `models.${name}.aliases[${i}]`));
  }
  for (const [alias, target] of Object.entries(extraAliases)) addAlias(alias, target, `aliases.${alias}`);
  Object.freeze(entries);
  return Object.freeze({ resolve: (name: string) => byName.get(name), list: () => entries });
}
