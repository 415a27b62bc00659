// Standard Webhooks signatures (standardwebhooks.com): HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>" keyed with the base64 part of a whsec_ secret, sent as
// "v1,<base64>"; during a rotation every valid secret signs, space-separated, so receivers holding
// either secret verify.
import { createHmac, randomBytes } from 'node:crypto';
import type { ChannelSecret } from '../../../drizzle/schema/index.js';

export const newSigningSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export function sign(secret: string, webhookId: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${webhookId}.${timestampSec}.${body}`).digest('base64')}`;
}

export function signatureHeader(secrets: readonly ChannelSecret[], webhookId: string, timestampSec: number, body: string, nowMs: number): string {
  return secrets
    .filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > nowMs)
    .map((s) => sign(s.secret, webhookId, timestampSec, body))
    .join(' ');
}
