// Removes configured provider secrets (API keys, credential header values) from upstream bytes
// before a client sees them: an upstream error body may quote the credential the gateway sent.
// Built once at config load from every provider, since a body can echo any of them.
import type { ProviderConfig } from '../config/schema.js';

export type Redact = (body: Buffer) => Buffer;

const replacement = '[REDACTED]';
// Shorter configured header values (a version, a flag) are not secrets and would mangle bodies.
const minSecretLength = 8;

export function providerSecrets(providers: Iterable<ProviderConfig>): string[] {
  const secrets = new Set<string>();
  for (const p of providers) {
    for (const secret of [p.apiKey, ...Object.values(p.headers)]) {
      if (secret === undefined) continue;
      secrets.add(secret);
      // As it appears quoted inside a JSON error message.
      secrets.add(JSON.stringify(secret).slice(1, -1));
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...secrets].filter((s) => s.length >= minSecretLength).sort((a, b) => b.length - a.length);
}

export function createRedactor(secrets: readonly string[]): Redact {
  const needles = secrets.map((s) => Buffer.from(s, 'utf8'));
  return (body) => {
    if (!needles.some((n) => body.includes(n))) return body;
    let text = body.toString('utf8');
    for (const secret of secrets) text = text.replaceAll(secret, replacement);
    return Buffer.from(text, 'utf8');
  };
}
