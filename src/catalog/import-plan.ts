// Which converted models become overrides: those of the chosen source provider, routed to a
// configured gateway provider, that neither shadow an alias nor (without --replace) replace a
// model the catalog already has. Entries a previous import wrote are replaced freely.
import type { Catalog, Encoding } from '../config/catalog.js';
import { modelSchema } from '../config/schema.js';
import type { ConvertedList, ImportedConfig, SkippedModel } from './imported-model.js';
import { fromLiteLlm, looksLikeLiteLlm } from './litellm-format.js';
import { fromModelsDev, looksLikeModelsDev } from './models-dev-format.js';

export const importFormats = ['litellm', 'models.dev'] as const;
export type ImportFormat = (typeof importFormats)[number];

export function convertList(json: unknown, format?: ImportFormat): ConvertedList & { format: ImportFormat } {
  const detected = format ?? (looksLikeLiteLlm(json) ? 'litellm' : looksLikeModelsDev(json) ? 'models.dev' : undefined);
  if (!detected) throw new Error('the file is neither LiteLLM model_prices_and_context_window.json nor models.dev api.json');
  return { format: detected, ...(detected === 'litellm' ? fromLiteLlm(json) : fromModelsDev(json)) };
}

export interface ImportOptions {
  // Only models the source lists under this provider (litellm_provider, models.dev provider id).
  readonly from?: string;
  // The gateway provider they are routed to; default: the source's provider name.
  readonly provider?: string;
  // For models new to the catalog (existing ones keep theirs).
  readonly encoding: Encoding;
  readonly replace: boolean;
}

export interface ImportContext {
  readonly providers: ReadonlySet<string>;
  readonly catalog: Catalog;
  // Names the overrides file already holds.
  readonly overridden: ReadonlySet<string>;
}

export interface ImportPlan {
  readonly models: Record<string, ImportedConfig & { provider: string }>;
  readonly skipped: SkippedModel[];
}

export function planImport(list: ConvertedList, options: ImportOptions, ctx: ImportContext): ImportPlan {
  const models: ImportPlan['models'] = {};
  const skipped: SkippedModel[] = [...list.skipped];
  for (const { name, sourceProvider, config } of list.models) {
    if (options.from !== undefined && sourceProvider !== options.from) continue;
    const provider = options.provider ?? sourceProvider;
    const existing = ctx.catalog.resolve(name);
    const listed = existing && !existing.priceEstimated ? existing : undefined;
    const reason = !ctx.providers.has(provider)
      ? `provider ${provider} is not configured`
      : listed && listed.name !== name
        ? `already an alias of ${listed.name}`
        : listed && !options.replace && !ctx.overridden.has(name)
          ? 'already in the catalog (--replace overrides it)'
          : name in models
            ? 'listed twice'
            : undefined;
    if (reason) {
      skipped.push({ name, reason });
      continue;
    }
    const entry = { ...config, provider, ...(listed ? {} : { encoding: options.encoding }) };
    const valid = modelSchema.partial().safeParse(entry);
    if (!valid.success) {
      skipped.push({ name, reason: valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      continue;
    }
    models[name] = entry;
  }
  return { models, skipped };
}
