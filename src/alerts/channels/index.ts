// Delivers one notification to one channel of any type; the sender and the admin API's "test"
// both come through here, so a test exercises exactly what alerts use.
import type { Logger } from 'pino';
import type { alertChannels } from '../../../drizzle/schema/index.js';
import type { AlertsConfig } from '../config.js';
import { createDestinationAgent } from '../destination.js';
import { deliverDigest } from '../../reports/digest-delivery.js';
import { type DigestPayload, isDigestPayload } from '../../reports/digest-payload.js';
import type { NotificationPayload } from '../payload.js';
import { headline } from '../payload.js';
import { createMailer } from './email.js';
import type { HttpTarget } from './http-post.js';
import type { DeliveryResult } from './result.js';
import { sendSlack } from './slack.js';
import { sendWebhook } from './webhook.js';

export type ChannelRow = typeof alertChannels.$inferSelect;

export interface Deliverer {
  // Scheduled report digests share the outbox and the channels (src/reports/digest-delivery.ts).
  deliver(channel: ChannelRow, webhookId: string, payload: NotificationPayload | DigestPayload, nowMs: number): Promise<DeliveryResult>;
  close(): Promise<void>;
}

export function createDeliverer(config: Pick<AlertsConfig, 'allowPrivateDestinations' | 'smtpUrl' | 'emailFrom' | 'delivery'>, logger: Logger): Deliverer {
  const agent = createDestinationAgent(config.allowPrivateDestinations);
  const http: HttpTarget = { agent, timeoutMs: config.delivery.timeoutMs, allowPrivate: config.allowPrivateDestinations };
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.emailFrom, timeoutMs: config.delivery.timeoutMs });
  return {
    async deliver(channel, webhookId, payload, nowMs) {
      if (isDigestPayload(payload)) return deliverDigest({ http, mailer, logger }, channel, webhookId, payload, nowMs);
      switch (channel.type) {
        case 'console':
          logger.warn({ alert: payload.data, event: payload.type, webhookId, channel: channel.id }, headline(payload));
          return { outcome: 'sent', status: null };
        case 'webhook':
          return sendWebhook(http, { url: String(channel.settings.url), signing: channel.secrets.signing ?? [] }, webhookId, payload, nowMs);
        case 'slack':
          return sendSlack(http, channel.secrets.url ?? '', payload);
        case 'email':
          return mailer.send((channel.settings.to as string[] | undefined) ?? [], webhookId, payload);
        default:
          return { outcome: 'rejected', status: null, error: `unknown channel type ${channel.type}` };
      }
    },
    async close() {
      mailer.close();
      await agent.close();
    },
  };
}
