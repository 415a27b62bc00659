// A digest through an alert channel: the webhook gets the envelope (the report as JSON), Slack a
// Block Kit summary, email the HTML report as its body with the PDF report attached, the console a
// log line. Same delivery results as alerts, so the outbox sender retries and settles them alike.
import type { Logger } from 'pino';
import type { ChannelRow } from '../alerts/channels/index.js';
import type { Mailer } from '../alerts/channels/email.js';
import { type HttpTarget, postJson } from '../alerts/channels/http-post.js';
import type { DeliveryResult } from '../alerts/channels/result.js';
import { sendWebhook } from '../alerts/channels/webhook.js';
import { reportToHtml } from '../analytics/report-html.js';
import { reportToPdf } from '../analytics/report-pdf.js';
import { type DigestPayload, digestHeadline, digestSummaryLines } from './digest-payload.js';

export interface DigestTransports {
  readonly http: HttpTarget;
  readonly mailer: Mailer;
  readonly logger: Logger;
}

export function digestSlackMessage(payload: DigestPayload) {
  const headline = digestHeadline(payload.data);
  return {
    text: headline,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: digestSummaryLines(payload.data).join('\n').slice(0, 2900) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${payload.data.scheduleName} · ${payload.data.tz} · generated ${payload.data.report.generatedAt}` }] },
    ],
  };
}

export async function deliverDigest(t: DigestTransports, channel: ChannelRow, webhookId: string, payload: DigestPayload, nowMs: number): Promise<DeliveryResult> {
  switch (channel.type) {
    case 'console':
      t.logger.info({ digest: payload.data.scheduleId, from: payload.data.from, to: payload.data.to, webhookId, channel: channel.id }, digestHeadline(payload.data));
      return { outcome: 'sent', status: null };
    case 'webhook':
      return sendWebhook(t.http, { url: String(channel.settings.url), signing: channel.secrets.signing ?? [] }, webhookId, payload, nowMs);
    case 'slack':
      return postJson(t.http, channel.secrets.url ?? '', {}, JSON.stringify(digestSlackMessage(payload)));
    case 'email': {
      const { report } = payload.data;
      return t.mailer.sendMessage((channel.settings.to as string[] | undefined) ?? [], webhookId, {
        subject: digestHeadline(payload.data),
        text: digestSummaryLines(payload.data).join('\n'),
        html: reportToHtml(report),
        attachments: [{ filename: `tollgate-report-${payload.data.from}-to-${payload.data.to}.pdf`, content: await reportToPdf(report), contentType: 'application/pdf' }],
      });
    }
    default:
      return { outcome: 'rejected', status: null, error: `unknown channel type ${channel.type}` };
  }
}
