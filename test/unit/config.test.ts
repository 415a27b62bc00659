// Config is validated once at start; a bad value names its path, and env overrides the file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function withFile(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tollgate-config-')), 'tollgate.yaml');
  writeFileSync(path, yaml);
  return path;
}

describe('loading config', () => {
  it('loads the shipped defaults with the built-in providers and the catalog', () => {
    const config = loadConfig({ env: {} });
    expect(config.server.port).toBe(8080);
    expect(config.dataDir).toBe('./data');
    expect([...config.providers.keys()].sort()).toEqual(['anthropic', 'bedrock', 'gemini', 'openai']);
    expect(config.catalog.resolve('gpt-4o-mini')?.provider).toBe('openai');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('applies the named environment variables', () => {
    const config = loadConfig({
      env: { PORT: '9999', TOLLGATE_DATA_DIR: '/tmp/x', REDIS_URL: 'redis://r:6379', DATABASE_URL: 'postgres://p/db', OPENAI_API_KEY: 'sk-1', OPENAI_BASE_URL: 'http://local:1/v1', ANTHROPIC_API_KEY: 'sk-2', ANTHROPIC_BASE_URL: 'http://local:2' },
    });
    expect(config.server.port).toBe(9999);
    expect(config.dataDir).toBe('/tmp/x');
    expect(config.redisUrl).toBe('redis://r:6379');
    expect(config.databaseUrl).toBe('postgres://p/db');
    expect(config.providers.get('openai')).toMatchObject({ apiKey: 'sk-1', baseUrl: 'http://local:1/v1' });
    expect(config.providers.get('anthropic')).toMatchObject({ apiKey: 'sk-2', baseUrl: 'http://local:2' });
  });

  it('applies TOLLGATE_SECTION__OPTION overrides with typed values', () => {
    const config = loadConfig({ env: { TOLLGATE_UPSTREAM__IDLE_TIMEOUT_MS: '5000', TOLLGATE_SERVER__PASSTHROUGH: 'deny', TOLLGATE_REDIS_KEY_PREFIX: 'tg2:' } });
    expect(config.upstream.idleTimeoutMs).toBe(5000);
    expect(config.redisKeyPrefix).toBe('tg2:');
    expect(config.server.passthrough).toMatchObject({ mode: 'deny' });
  });

  it('bounds the old generation to 50% growth past its live size unless told otherwise', () => {
    expect(loadConfig({ env: {} }).server.heapGrowingPercent).toBe(50);
    expect(loadConfig({ env: { TOLLGATE_SERVER__HEAP_GROWING_PERCENT: '0' } }).server.heapGrowingPercent).toBe(0);
    expect(() => loadConfig({ env: { TOLLGATE_SERVER__HEAP_GROWING_PERCENT: '-5' } })).toThrow(/server\.heapGrowingPercent/);
  });

  it('reads the file named by TOLLGATE_CONFIG and interpolates ${VARS}', () => {
    const path = withFile('providers:\n  local:\n    kind: openai\n    baseUrl: ${LOCAL_URL}\n    apiKey: ${LOCAL_KEY:-none}\nmodels:\n  llama3:\n    provider: local\n    encoding: cl100k_base\naliases:\n  fast: llama3\n');
    const config = loadConfig({ env: { TOLLGATE_CONFIG: path, LOCAL_URL: 'http://127.0.0.1:11434/v1' } });
    expect(config.providers.get('local')).toMatchObject({ baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'none' });
    expect(config.catalog.resolve('fast')?.name).toBe('llama3');
    expect(config.providers.get('openai')?.baseUrl).toBe('https://api.openai.com/v1');
  });

  it.each([
    ['server:\n  port: -1\n', /server\.port/],
    ['upstream:\n  idleTimeoutMs: soon\n', /upstream\.idleTimeoutMs/],
    ['providers:\n  x:\n    kind: grpc\n    baseUrl: http://a\n', /providers\.x\.kind/],
    ['providers:\n  x:\n    kind: openai\n    baseUrl: not a url\n', /providers\.x\.baseUrl/],
    ['models:\n  m:\n    provider: nowhere\n', /models\.m\.provider names unknown provider "nowhere"/],
    ['aliases:\n  fast: missing-model\n', /aliases\.fast points at unknown model "missing-model"/],
    ['providers:\n  x:\n    kind: openai\n    baseUrl: http://a\n    unknownModels: { policy: estimate }\n', /providers\.x\.unknownModels\.price: price is required when policy is estimate/],
    ['models:\n  m:\n    provider: openai\n    kind: hologram\n', /models\.m\.kind/],
    ['server: [1, 2\n', /not valid YAML/],
  ])('refuses %j naming the path', (yaml, message) => {
    const path = withFile(yaml);
    expect(() => loadConfig({ env: { TOLLGATE_CONFIG: path } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { TOLLGATE_CONFIG: path } })).toThrow(message);
  });

  it('merges the catalog overrides file over the shipped catalog and under tollgate.yaml models', () => {
    const path = withFile('catalogOverridesFile: overrides.yaml\nmodels:\n  gpt-4o:\n    price: { inputPerMTok: 2, outputPerMTok: 8 }\n');
    writeFileSync(join(dirname(path), 'overrides.yaml'), 'models:\n  gpt-4o:\n    contextWindow: 64000\n  house-model:\n    provider: openai\n    price: { inputPerMTok: 1, outputPerMTok: 1 }\n');
    const { catalog } = loadConfig({ env: { TOLLGATE_CONFIG: path } });
    expect(catalog.resolve('house-model')?.price.inputPerMTok).toBe(1_000_000);
    expect(catalog.resolve('gpt-4o')).toMatchObject({ contextWindow: 64_000, maxOutputTokens: 16_384, price: { inputPerMTok: 2_000_000 } });
    writeFileSync(join(dirname(path), 'overrides.yaml'), 'models:\n  house-model:\n    provider: openai\n    aliases: [gpt-4o-mini]\n');
    expect(() => loadConfig({ env: { TOLLGATE_CONFIG: path } })).toThrow(/alias "gpt-4o-mini" is already a model or another alias/);
  });

  it('refuses a missing config file', () => {
    expect(() => loadConfig({ env: { TOLLGATE_CONFIG: '/nonexistent/tollgate.yaml' } })).toThrow(/cannot read config file/);
  });
});
