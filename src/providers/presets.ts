// Presets for OpenAI-compatible services: what `preset: NAME` fills into a provider's config, so
// one line adds one (`groq: { preset: groq }`, with the key in GROQ_API_KEY). Every field of the
// provider's own config wins over its preset's. They all speak OpenAI's wire format with a Bearer
// key; local servers (Ollama, vLLM) need no key and price the models they serve, which no catalog
// lists, by estimate at zero cost (tokens still count against token budgets). Hosted services
// refuse unlisted models: their prices differ per model, and an unpriced model would bypass budgets.
// The shipped catalog prices their popular models under provider names equal to the preset names.

export const presetNames = ['mistral', 'groq', 'deepseek', 'xai', 'together', 'fireworks', 'openrouter', 'ollama', 'vllm'] as const;
export type PresetName = (typeof presetNames)[number];

interface Preset {
  readonly baseUrl: string;
  // The environment variable the service's own SDKs read the key from.
  readonly apiKeyEnv?: string;
  readonly unknownModels?: Readonly<Record<string, unknown>>;
}

const localModels = { policy: 'estimate', price: { inputPerMTok: 0, outputPerMTok: 0 }, encoding: 'estimate' } as const;

export const providerPresets: Readonly<Record<PresetName, Preset>> = {
  mistral: { baseUrl: 'https://api.mistral.ai/v1', apiKeyEnv: 'MISTRAL_API_KEY' },
  groq: { baseUrl: 'https://api.groq.com/openai/v1', apiKeyEnv: 'GROQ_API_KEY' },
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', apiKeyEnv: 'DEEPSEEK_API_KEY' },
  xai: { baseUrl: 'https://api.x.ai/v1', apiKeyEnv: 'XAI_API_KEY' },
  together: { baseUrl: 'https://api.together.xyz/v1', apiKeyEnv: 'TOGETHER_API_KEY' },
  fireworks: { baseUrl: 'https://api.fireworks.ai/inference/v1', apiKeyEnv: 'FIREWORKS_API_KEY' },
  openrouter: { baseUrl: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' },
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', unknownModels: localModels },
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', unknownModels: localModels },
};

const isPreset = (value: unknown): value is PresetName => (presetNames as readonly unknown[]).includes(value);

// A provider's raw config with its preset's defaults under it; anything else is returned as it is
// (an unknown preset name is left for the config schema to refuse with its path).
export function withPreset(raw: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const own = raw as Record<string, unknown>;
  if (!isPreset(own.preset)) return raw;
  const preset = providerPresets[own.preset];
  const apiKey = preset.apiKeyEnv ? env[preset.apiKeyEnv] : undefined;
  return {
    kind: 'openai',
    baseUrl: preset.baseUrl,
    ...(apiKey ? { apiKey } : {}),
    ...(preset.unknownModels ? { unknownModels: preset.unknownModels } : {}),
    ...own,
  };
}
