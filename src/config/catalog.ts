// The model catalog: model name or alias -> provider, upstream name, kind, encoding, limits and
// prices. Prices arrive as USD (per 1M tokens, or per unit) and are held as integer micro-USD.
// A name the catalog lacks, written PROVIDER/MODEL for a provider whose unknown-model policy is
// `estimate`, resolves to a model priced at that provider's default price and marked so.
import type { ModelKind, TierPriceConfig, UnitsConfig } from '../pricing/price-schema.js';
import type { ModelConfig, UnknownModelsConfig } from './schema.js';

export type Encoding = ModelConfig['encoding'];

// One set of token prices, micro-USD per 1M tokens.
export interface TokenPriceMicros {
  readonly inputPerMTok: number;
  readonly cachedInputPerMTok: number;
  readonly cacheWritePerMTok: number;
  // Cache writes with a 1-hour TTL; absent means the (5-minute) cacheWritePerMTok.
  readonly cacheWrite1hPerMTok?: number;
  // Uncached audio input (Usage.audioInputTokens); absent means inputPerMTok.
  readonly audioInputPerMTok?: number;
  readonly outputPerMTok: number;
}

export interface TierPriceMicros extends TokenPriceMicros {
  readonly longContext?: { readonly aboveInputTokens: number; readonly price: TokenPriceMicros };
}

// The standard price, and the tiers that replace it for a request (src/pricing/cost.ts: priceFor).
export interface ModelPriceMicros extends TierPriceMicros {
  readonly tiers?: Readonly<Partial<Record<'flex' | 'priority' | 'batch', TierPriceMicros>>>;
}

export type UnitPricesMicros = Readonly<Omit<UnitsConfig, 'perImage'> & { perImage?: Readonly<Record<string, number>> }>;

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
  // Absent means text. Optional for the same reason as reasoning.
  readonly kind?: ModelKind;
  readonly price: ModelPriceMicros;
  // Unit prices of image and audio models, micro-USD per unit (per 1M for token fields).
  readonly units?: UnitPricesMicros;
  // Not in the catalog: priced at its provider's default price for unknown models.
  readonly priceEstimated?: boolean;
}

export interface Catalog {
  resolve(name: string): CatalogModel | undefined;
  list(): readonly CatalogModel[];
}

const usdToMicros = (usd: number): number => Math.round(usd * 1_000_000);

function tokenPrice(p: Omit<TierPriceConfig, 'longContext'>): TokenPriceMicros {
  const cacheWritePerMTok = usdToMicros(p.cacheWritePerMTok ?? p.inputPerMTok);
  return Object.freeze({
    inputPerMTok: usdToMicros(p.inputPerMTok),
    cachedInputPerMTok: usdToMicros(p.cachedInputPerMTok ?? p.inputPerMTok),
    cacheWritePerMTok,
    cacheWrite1hPerMTok: p.cacheWrite1hPerMTok === undefined ? cacheWritePerMTok : usdToMicros(p.cacheWrite1hPerMTok),
    ...(p.audioInputPerMTok === undefined ? {} : { audioInputPerMTok: usdToMicros(p.audioInputPerMTok) }),
    outputPerMTok: usdToMicros(p.outputPerMTok),
  });
}

function tierPrice(p: TierPriceConfig): TierPriceMicros {
  if (!p.longContext) return tokenPrice(p);
  const { aboveInputTokens, ...longPrice } = p.longContext;
  return Object.freeze({ ...tokenPrice(p), longContext: Object.freeze({ aboveInputTokens, price: tokenPrice(longPrice) }) });
}

export function modelPrice(p: ModelConfig['price']): ModelPriceMicros {
  const standard = tierPrice(p);
  if (!p.tiers) return standard;
  const tiers = Object.fromEntries(Object.entries(p.tiers).flatMap(([name, t]) => (t ? [[name, tierPrice(t)]] : [])));
  return Object.freeze({ ...standard, tiers: Object.freeze(tiers) });
}

function unitPrices(u: UnitsConfig): UnitPricesMicros {
  const { perImage, ...rest } = u;
  const micros: Record<string, unknown> = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, usdToMicros(v)]));
  if (perImage) micros.perImage = Object.freeze(Object.fromEntries(Object.entries(perImage).map(([k, v]) => [k, usdToMicros(v)])));
  return Object.freeze(micros) as UnitPricesMicros;
}

// The routes that meter by tokens serve text and embedding models; image and audio models are
// refused there like a model whose provider lacks the endpoint, never priced as text.
export const meteredByTokens = (model: CatalogModel): boolean => model.kind === undefined || model.kind === 'text' || model.kind === 'embedding';

// Metric labels take catalog names only: an unlisted model's name is the client's to choose and
// would let anyone create unbounded series.
export const metricModelLabel = (model: CatalogModel): string => (model.priceEstimated ? `${model.provider}/(unlisted)` : model.name);

// PROVIDER/MODEL with a printable model name of bounded length (it is stored with every event)
// that starts with a letter or digit, so it can never be a dot segment where a path template
// places it (Azure's {deployment}).
const unlistedName = /^([^/]+)\/([A-Za-z0-9][\x21-\x7e]{0,199})$/;

function estimatedModel(name: string, policies: ReadonlyMap<string, UnknownModelsConfig>): CatalogModel | undefined {
  const match = unlistedName.exec(name);
  const policy = match ? policies.get(match[1]!) : undefined;
  if (!match || policy?.policy !== 'estimate' || !policy.price) return undefined;
  return Object.freeze({
    name,
    provider: match[1]!,
    upstreamModel: match[2]!,
    encoding: policy.encoding,
    contextWindow: policy.contextWindow,
    maxOutputTokens: policy.maxOutputTokens,
    reasoning: false,
    kind: 'text' as const,
    price: modelPrice(policy.price),
    priceEstimated: true,
  });
}

export function buildCatalog(
  models: Readonly<Record<string, ModelConfig>>,
  extraAliases: Readonly<Record<string, string>>,
  knownProviders: ReadonlySet<string>,
  unknownModels: ReadonlyMap<string, UnknownModelsConfig> = new Map(),
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
      kind: m.kind,
      price: modelPrice(m.price),
      ...(m.units ? { units: unitPrices(m.units) } : {}),
    });
    entries.push(entry);
    byName.set(name, entry);
  }
  const aliasTargets = new Map<string, string>();
  // A model's own aliases are its provider's names for it (dated snapshots, `-latest`), so the
  // upstream gets the snapshot the client pinned; top-level aliases are the gateway's own names and
  // are rewritten. A model given an explicit upstream name (an Azure deployment) keeps it either way.
  const addAlias = (alias: string, target: string, path: string, providerName: boolean): void => {
    const entry = byName.get(target);
    if (!entry) throw new Error(`${path} points at unknown model "${target}"`);
    const taken = models[alias] ? alias : aliasTargets.get(alias);
    if (taken !== undefined && taken !== target) throw new Error(`${path}: alias "${alias}" is already a model or another alias`);
    if (taken !== undefined) return;
    aliasTargets.set(alias, target);
    const forwardedAsNamed = providerName && entry.upstreamModel === entry.name;
    byName.set(alias, forwardedAsNamed ? Object.freeze({ ...entry, upstreamModel: alias }) : entry);
  };
  for (const [name, m] of Object.entries(models)) {
    m.aliases.forEach((alias, i) => addAlias(alias, name, `models.${name}.aliases[${i}]`, true));
  }
  for (const [alias, target] of Object.entries(extraAliases)) addAlias(alias, target, `aliases.${alias}`, false);
  Object.freeze(entries);
  // PROVIDER/MODEL also names a listed model of that provider, the way LiteLLM-style clients write it.
  const prefixed = (name: string): CatalogModel | undefined => {
    const slash = name.indexOf('/');
    const entry = slash > 0 ? byName.get(name.slice(slash + 1)) : undefined;
    return entry?.provider === name.slice(0, slash) ? entry : undefined;
  };
  const resolve = (name: string) => byName.get(name) ?? prefixed(name) ?? estimatedModel(name, unknownModels);
  return Object.freeze({ resolve, list: () => entries });
}
