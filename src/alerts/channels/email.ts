// Email channel over SMTP (nodemailer): a text and an HTML body. The SMTP server is the operator's
// (alerts.smtpUrl / SMTP_URL), not the channel owner's, so it is not held to the destination rule.
// The Message-ID carries the outbox row's webhook-id, so a resend after a crash is recognisable.
import nodemailer, { type Transporter } from 'nodemailer';
import type { NotificationPayload } from '../payload.js';
import { headline } from '../payload.js';
import type { DeliveryResult } from './result.js';

export interface EmailMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  // A scheduled digest attaches its PDF report.
  readonly attachments?: ReadonlyArray<{ readonly filename: string; readonly content: Buffer; readonly contentType: string }>;
}

export interface Mailer {
  send(to: readonly string[], webhookId: string, payload: NotificationPayload): Promise<DeliveryResult>;
  sendMessage(to: readonly string[], webhookId: string, message: EmailMessage): Promise<DeliveryResult>;
  close(): void;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function emailBodies(payload: NotificationPayload): { subject: string; text: string; html: string } {
  const { data } = payload;
  const figures = Object.entries(data.figures);
  const lines = [
    data.summary,
    '',
    ...figures.map(([k, v]) => `${k}: ${String(v)}`),
    '',
    `Severity: ${data.severity}`,
    `Source: ${data.source} (${data.name})`,
    `State: ${data.state}`,
    `First seen: ${data.firstSeenAt}`,
    `Alert: ${data.id}`,
  ];
  const rows = [...figures, ['severity', data.severity], ['source', `${data.source} (${data.name})`], ['state', data.state], ['first seen', data.firstSeenAt], ['alert', data.id]]
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(String(k))}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return {
    subject: headline(payload),
    text: lines.join('\n'),
    html: `<!doctype html><html><body><p>${escapeHtml(data.summary)}</p><table>${rows}</table></body></html>`,
  };
}

export function createMailer(options: { smtpUrl: string | undefined; from: string; timeoutMs: number }): Mailer {
  let transport: Transporter | undefined;
  async function sendMessage(to: readonly string[], webhookId: string, message: EmailMessage): Promise<DeliveryResult> {
    if (!options.smtpUrl) return { outcome: 'retry', status: null, error: 'no SMTP server configured (alerts.smtpUrl or SMTP_URL)' };
    transport ??= nodemailer.createTransport({ url: options.smtpUrl, connectionTimeout: options.timeoutMs, greetingTimeout: options.timeoutMs, socketTimeout: options.timeoutMs });
    try {
      const info = await transport.sendMail({ from: options.from, to: [...to], messageId: `<${webhookId}@tollgate>`, ...message, attachments: message.attachments?.map((a) => ({ ...a })) });
      return { outcome: 'sent', status: Number.parseInt(String(info.response), 10) || null };
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      const error = `${e.code ?? 'SMTP'}: ${e.message}`.slice(0, 300);
      // 5xx is the server's final word (unknown mailbox, policy); anything else may pass later.
      if (e.responseCode && e.responseCode >= 500) return { outcome: 'rejected', status: e.responseCode, error };
      return { outcome: 'retry', status: e.responseCode ?? null, error };
    }
  }
  return {
    send: (to, webhookId, payload) => sendMessage(to, webhookId, emailBodies(payload)),
    sendMessage,
    close() {
      transport?.close();
    },
  };
}
