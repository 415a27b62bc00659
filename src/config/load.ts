// Reads config/tollgate.yaml and the model catalog, applies env overrides, validates with zod and
// returns one frozen runtime object. A bad config throws ConfigError naming the path and problem.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { presetNames, withPreset } from '../providers/presets.js';
import { buildCatalog, type Catalog } from './catalog.js';
import { configSchema, modelSchema, type ModelConfig, type ParsedConfig, type ProviderConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface RuntimeConfig extends Omit<ParsedConfig, 'providers' | 'models' | 'aliases'> {
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly catalog: Catalog;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const defaultConfigPath = resolve(projectRoot, 'config/tollgate.yaml');
const defaultCatalogPath = resolve(projectRoot, 'config/models.yaml');

type Env = Readonly<Record<string, string | undefined>>;

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
}

// ${NAME} and ${NAME:-default} in YAML string values read the environment, so secrets stay out of files.
function interpolate(value: unknown, env: Env): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => env[name] ?? fallback ?? '');
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  }
  return value;
}

const camel = (snake: string): string => snake.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = next && typeof next === 'object' ? (next as Record<string, unknown>) : (node[key] = {});
  }
  node[path[path.length - 1]!] = value;
}

// Env values are strings; numbers, booleans and JSON/YAML lists or maps are typed, anything else
// (`tg2:`, a URL) stays the string it is.
function scalar(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^\s*[[{]/.test(text)) {
    try {
      return parseYaml(text);
    } catch {
      return text;
    }
  }
  return text;
}

// TOLLGATE_* variables that are not config options (the CLI's, and the config path itself).
const clientOnlyEnv = new Set(['TOLLGATE_CONFIG', 'TOLLGATE_URL', 'TOLLGATE_ADMIN_KEY']);

function applyEnv(raw: Record<string, unknown>, env: Env): void {
  const named: Array<[string, string[], (v: string) => unknown]> = [
    ['PORT', ['server', 'port'], scalar],
    ['HOST', ['server', 'host'], String],
    ['TOLLGATE_DATA_DIR', ['dataDir'], String],
    ['REDIS_URL', ['redisUrl'], String],
    ['REDIS_CLUSTER_NODES', ['redisClusterNodes'], String],
    ['DATABASE_URL', ['databaseUrl'], String],
    ['SMTP_URL', ['alerts', 'smtpUrl'], String],
    ['LOG_LEVEL', ['log', 'level'], String],
    ['OPENAI_API_KEY', ['providers', 'openai', 'apiKey'], String],
    ['OPENAI_BASE_URL', ['providers', 'openai', 'baseUrl'], String],
    ['ANTHROPIC_API_KEY', ['providers', 'anthropic', 'apiKey'], String],
    ['ANTHROPIC_BASE_URL', ['providers', 'anthropic', 'baseUrl'], String],
    ['GEMINI_API_KEY', ['providers', 'gemini', 'apiKey'], String],
    ['GEMINI_BASE_URL', ['providers', 'gemini', 'baseUrl'], String],
    ['BEDROCK_BASE_URL', ['providers', 'bedrock', 'baseUrl'], String],
  ];
  for (const [name, path, convert] of named) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, convert(value));
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TOLLGATE_') || value === undefined || clientOnlyEnv.has(name)) continue;
    const path = name.slice('TOLLGATE_'.length).split('__').map(camel);
    setPath(raw, path, scalar(value));
  }
}

function describe(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/^\./, '');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

// OpenAI, Anthropic, Gemini and Bedrock always exist (the shipped catalog routes to them); a config file's entries
// for them are merged over these defaults rather than replacing them.
const builtinProviders: Record<string, Record<string, unknown>> = {
  openai: { kind: 'openai', baseUrl: 'https://api.openai.com/v1' },
  anthropic: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com' },
  gemini: { kind: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com' },
  bedrock: { kind: 'bedrock', baseUrl: 'https://bedrock-runtime.us-east-1.amazonaws.com' },
};

function withBuiltinProviders(fromFile: unknown): Record<string, unknown> {
  const file = fromFile && typeof fromFile === 'object' ? (fromFile as Record<string, unknown>) : {};
  const merged: Record<string, unknown> = { ...file };
  for (const [name, defaults] of Object.entries(builtinProviders)) {
    const own = file[name];
    merged[name] = own && typeof own === 'object' ? { ...defaults, ...own } : defaults;
  }
  return merged;
}

const catalogFileSchema = z.object({ models: z.record(z.string(), modelSchema).default({}) });
const overridesFileSchema = z.object({ models: z.record(z.string(), z.record(z.string(), z.unknown())).default({}) });

// Where `tollgate catalog import` writes and the loader reads catalog overrides: the configured
// file (relative to the config file), else catalog-overrides.yaml in the data directory.
export function catalogOverridesPath(config: Pick<ParsedConfig, 'catalogOverridesFile' | 'dataDir'>, configPath: string): string {
  return config.catalogOverridesFile ? resolve(dirname(configPath), config.catalogOverridesFile) : resolve(config.dataDir, 'catalog-overrides.yaml');
}

export interface LoadOptions {
  env?: Env;
  // Extra settings merged over the file (tests and the CLI use this instead of writing YAML).
  overrides?: Record<string, unknown>;
}

export const configFilePath = (env: Env): string => (env.TOLLGATE_CONFIG ? resolve(env.TOLLGATE_CONFIG) : defaultConfigPath);

export function loadConfig(options: LoadOptions = {}): RuntimeConfig {
  const env = options.env ?? process.env;
  const path = configFilePath(env);
  const raw = interpolate(readYaml(path), env) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${path} must hold a YAML mapping`);
  raw.providers = withBuiltinProviders(raw.providers);
  applyEnv(raw, env);
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key.split('.'), value);
  raw.providers = Object.fromEntries(Object.entries(raw.providers as Record<string, unknown>).map(([name, p]) => [name, withPreset(p, env)]));

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid config (${path}):\n${describe(parsed.error)}`);
  const config = parsed.data;

  const catalogPath = config.catalogFile ? resolve(dirname(path), config.catalogFile) : defaultCatalogPath;
  const catalogRaw = catalogFileSchema.safeParse(readYaml(catalogPath));
  if (!catalogRaw.success) throw new ConfigError(`invalid model catalog (${catalogPath}):\n${describe(catalogRaw.error)}`);

  // The shipped prices of a preset's models apply once a provider of that name is configured.
  const models: Record<string, ModelConfig> = Object.fromEntries(
    Object.entries(catalogRaw.data.models).filter(([, m]) => config.providers[m.provider] !== undefined || !(presetNames as readonly string[]).includes(m.provider)),
  );
  const overridesPath = catalogOverridesPath(config, path);
  const merge = (overrides: Record<string, Record<string, unknown>>, source: string): void => {
    for (const [name, override] of Object.entries(overrides)) {
      const merged = modelSchema.safeParse({ ...models[name], ...override });
      if (!merged.success) throw new ConfigError(`invalid config (${source}):\n${describe(merged.error, `models.${name}`)}`);
      models[name] = merged.data;
    }
  };
  if (existsSync(overridesPath)) {
    const overrides = overridesFileSchema.safeParse(readYaml(overridesPath));
    if (!overrides.success) throw new ConfigError(`invalid catalog overrides (${overridesPath}):\n${describe(overrides.error)}`);
    merge(overrides.data.models, overridesPath);
  }
  merge(config.models, path);

  const { providers, models: _models, aliases, ...rest } = config;
  let catalog: Catalog;
  try {
    const unknownModels = new Map(Object.entries(providers).map(([name, p]) => [name, p.unknownModels]));
    catalog = buildCatalog(models, aliases, new Set(Object.keys(providers)), unknownModels);
  } catch (err) {
    throw new ConfigError(`invalid config (${path}):\n${(err as Error).message}`);
  }
  return deepFreeze({ ...rest, providers: new Map(Object.entries(providers)), catalog });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (!(value instanceof Map)) for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
