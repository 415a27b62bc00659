// Tollgate API keys: `tg-` + 256 random bits. Only the SHA-256 hash is stored; keys carry enough
// entropy that a fast hash is safe (no dictionary to attack), and it keeps lookup O(1).
import { hash, randomBytes } from 'node:crypto';

export const keyPrefix = 'tg-';

export interface GeneratedKey {
  key: string;
  hash: string;
  prefix: string;
}

// One-shot hash: every request hashes its key, and this skips building a Hash object.
export const hashKey = (key: string): string => hash('sha256', key, 'hex');

export function generateKey(): GeneratedKey {
  const key = keyPrefix + randomBytes(32).toString('base64url');
  return { key, hash: hashKey(key), prefix: key.slice(0, 10) };
}

export const newId = (kind: string): string => `${kind}_${randomBytes(12).toString('base64url')}`;
