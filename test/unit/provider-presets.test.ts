// Presets for OpenAI-compatible services: one line of config adds one, the key comes from the
// service's usual environment variable, the provider's own fields win, local servers price unlisted
// models by estimate, and the shipped prices of a preset's models apply only once it is configured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { presetNames, providerPresets } from '../../src/providers/presets.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-presets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fromYaml(yaml: string, env: Record<string, string> = {}) {
  const path = join(dir, `tollgate-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, yaml);
  return loadConfig({ env: { TOLLGATE_CONFIG: path, TOLLGATE_DATA_DIR: dir, ...env } });
}

describe('provider presets', () => {
  it('adds Groq from one line, with the key from GROQ_API_KEY, and prices its models from the catalog', () => {
    const config = fromYaml('providers:\n  groq: { preset: groq }\n', { GROQ_API_KEY: 'gsk-test' });
    expect(config.providers.get('groq')).toMatchObject({ kind: 'openai', preset: 'groq', baseUrl: 'https://api.groq.com/openai/v1', apiKey: 'gsk-test', unknownModels: { policy: 'refuse' } });
    expect(config.catalog.resolve('llama-3.3-70b-versatile')).toMatchObject({ provider: 'groq', price: { inputPerMTok: 590_000, outputPerMTok: 790_000 } });
    // A hosted service refuses what it does not list: an unpriced model would escape budgets.
    expect(config.catalog.resolve('groq/some-new-model')).toBeUndefined();
  });

  it('leaves a preset’s catalog entries out until a provider of that name is configured', () => {
    const config = fromYaml('{}\n');
    expect(config.providers.has('groq')).toBe(false);
    expect(config.catalog.resolve('llama-3.3-70b-versatile')).toBeUndefined();
    expect(config.catalog.resolve('deepseek-chat')).toBeUndefined();
  });

  it('prices any model an Ollama or vLLM server serves by estimate, at zero cost, marked as such', () => {
    const config = fromYaml('providers:\n  ollama: { preset: ollama }\n  vllm: { preset: vllm, baseUrl: "http://gpu-box:8000/v1" }\n');
    expect(config.providers.get('ollama')).toMatchObject({ baseUrl: 'http://127.0.0.1:11434/v1', unknownModels: { policy: 'estimate', encoding: 'estimate' } });
    expect(config.providers.get('ollama')!.apiKey).toBeUndefined();
    expect(config.providers.get('vllm')!.baseUrl).toBe('http://gpu-box:8000/v1');
    expect(config.catalog.resolve('ollama/qwen2.5:7b')).toMatchObject({ provider: 'ollama', upstreamModel: 'qwen2.5:7b', priceEstimated: true, price: { inputPerMTok: 0, outputPerMTok: 0 } });
    expect(config.catalog.resolve('vllm/meta-llama/Llama-3.1-8B-Instruct')).toMatchObject({ provider: 'vllm', upstreamModel: 'meta-llama/Llama-3.1-8B-Instruct' });
  });

  it('lets the provider’s own fields win over its preset’s', () => {
    const config = fromYaml('providers:\n  deepseek: { preset: deepseek, apiKey: "${MY_KEY}", unknownModels: { policy: estimate, price: { inputPerMTok: 1, outputPerMTok: 2 } } }\n', { DEEPSEEK_API_KEY: 'from-preset-env', MY_KEY: 'mine' });
    expect(config.providers.get('deepseek')).toMatchObject({ apiKey: 'mine', baseUrl: 'https://api.deepseek.com/v1', unknownModels: { policy: 'estimate' } });
    expect(config.catalog.resolve('deepseek-chat')).toMatchObject({ provider: 'deepseek', price: { inputPerMTok: 280_000, cachedInputPerMTok: 28_000, outputPerMTok: 420_000 } });
  });

  it('refuses an unknown preset, naming the path', () => {
    expect(() => fromYaml('providers:\n  acme: { preset: acme-ai }\n')).toThrow(ConfigError);
    expect(() => fromYaml('providers:\n  acme: { preset: acme-ai }\n')).toThrow(/providers\.acme\.preset/);
  });

  it('configures every preset from its name alone', () => {
    for (const name of presetNames) {
      const config = fromYaml(`providers:\n  ${name}: { preset: ${name} }\n`);
      expect(config.providers.get(name)).toMatchObject({ kind: 'openai', baseUrl: providerPresets[name].baseUrl });
    }
  });
});
