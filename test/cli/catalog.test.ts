// The real `tollgate catalog` commands on a config with extra OpenAI-compatible providers: import
// both community formats into the overrides file, then list and show what the gateway would load.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-catalog-'));
const configPath = join(dir, 'tollgate.yaml');
writeFileSync(
  configPath,
  [
    'providers:',
    '  groq: { kind: openai, baseUrl: "http://127.0.0.1:1/openai/v1" }',
    '  lmstudio: { kind: openai, baseUrl: "http://127.0.0.1:1/v1" }',
    'catalogOverridesFile: overrides/catalog.yaml',
  ].join('\n'),
);
const env = { TOLLGATE_CONFIG: configPath, TOLLGATE_DATA_DIR: join(dir, 'data') };
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/catalog/${name}`, import.meta.url));
const overridesPath = join(dir, 'overrides/catalog.yaml');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = async (args: string[]) => {
  const result = await runCli(args, env);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
};

describe('tollgate catalog', () => {
  it('imports LiteLLM prices for configured providers into the overrides file and reports what it skipped', async () => {
    const said = await cli(['catalog', 'import', fixture('litellm.json')]);
    // Groq's shipped preset entries (a provider named groq is configured) are already in the catalog.
    expect(said).toMatch(/^imported 3 litellm models into .*overrides\/catalog\.yaml; skipped 9 \(/);
    expect(said).toContain('provider ollama is not configured: 1');
    const written = parse(readFileSync(overridesPath, 'utf8')) as { models: Record<string, { provider: string }> };
    expect(Object.keys(written.models).sort()).toEqual(['ft:gpt-4o-mini-2024-07-18', 'gpt-5.2', 'whisper-large-v3']);
    expect(written.models['whisper-large-v3']?.provider).toBe('groq');
  });

  it('imports models.dev routed to a chosen provider, and re-importing changes nothing', async () => {
    const first = JSON.parse(await cli(['catalog', 'import', fixture('models-dev.json'), '--from', 'lmstudio', '--json'])) as { imported: number; models: string[] };
    expect(first).toMatchObject({ imported: 1, models: ['openai/gpt-oss-20b'] });
    const before = readFileSync(overridesPath, 'utf8');
    await cli(['catalog', 'import', fixture('models-dev.json'), '--from', 'lmstudio']);
    expect(readFileSync(overridesPath, 'utf8')).toBe(before);
  });

  it('lists the loaded catalog by provider, as a table or JSON', async () => {
    const groq = JSON.parse(await cli(['catalog', 'list', '--provider', 'groq', '--json'])) as Array<{ name: string; price: { inputPerMTok: number } }>;
    expect(groq.map((m) => m.name)).toEqual(['llama-3.3-70b-versatile', 'llama-3.1-8b-instant', 'whisper-large-v3']);
    expect(groq.find((m) => m.name === 'llama-3.1-8b-instant')?.price.inputPerMTok).toBe(0.05);
    const table = (await cli(['catalog', 'list', '--provider', 'openai'])).split('\n');
    expect(table[0]).toMatch(/^name\s+provider\s+kind\s+input\s+output\s+context\s+tiers$/);
    expect(table.find((l) => l.startsWith('gpt-4 '))).toMatch(/^gpt-4\s+openai\s+text\s+30\s+60\s+8192\s+batch$/);
    expect(table.find((l) => l.startsWith('gpt-5.2 '))).toMatch(/flex,priority,batch$/);
  });

  it('shows one model by name or dated alias with every price', async () => {
    const shown = JSON.parse(await cli(['catalog', 'show', 'claude-sonnet-4-5-20250929']));
    expect(shown).toMatchObject({
      name: 'claude-sonnet-4-5',
      provider: 'anthropic',
      encoding: 'estimate',
      price: { inputPerMTok: 3, cacheWrite1hPerMTok: 6, longContext: { aboveInputTokens: 200000, inputPerMTok: 6, outputPerMTok: 22.5 }, tiers: { batch: { inputPerMTok: 1.5 } } },
    });
    expect(JSON.parse(await cli(['catalog', 'show', 'dall-e-3']))).toMatchObject({ kind: 'image', units: { perImage: { '1024x1024/standard': 0.04 } } });
  });

  it('fails with a usage error on a file in neither format, and with 1 on an unknown model', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"hello": "world"}');
    const refused = await runCli(['catalog', 'import', bad], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('neither LiteLLM');
    const notJson = await runCli(['catalog', 'import', configPath], env);
    expect(notJson.code).toBe(2);
    const missing = await runCli(['catalog', 'show', 'no-such-model'], env);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('no model "no-such-model"') });
  });
});
