// Webhook channel: the payload as JSON, signed per Standard Webhooks. The webhook-id is the outbox
// row's, so every retry of one notification carries the same id; the timestamp is the attempt's,
// so receivers can refuse old (replayed) deliveries.
import type { ChannelSecret } from '../../../drizzle/schema/index.js';
import type { NotificationPayload } from '../payload.js';
import { type HttpTarget, postJson } from './http-post.js';
import type { DeliveryResult } from './result.js';
import { signatureHeader } from './signing.js';

export interface WebhookChannel {
  readonly url: string;
  readonly signing: readonly ChannelSecret[];
}

// Any Standard Webhooks envelope: an alert notification or a report digest (src/reports/digest-payload.ts).
export function sendWebhook(target: HttpTarget, channel: WebhookChannel, webhookId: string, payload: Pick<NotificationPayload, 'timestamp'> & { readonly type: string; readonly data: unknown }, nowMs: number): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const timestampSec = Math.floor(nowMs / 1000);
  return postJson(target, channel.url, {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signatureHeader(channel.signing, webhookId, timestampSec, body, nowMs),
  }, body);
}
