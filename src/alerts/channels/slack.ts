// Slack incoming-webhook channel: a Block Kit message (header, the summary, the figures as fields,
// and a context line with the alert id), with a plain `text` fallback for notifications.
import type { NotificationPayload } from '../payload.js';
import { headline } from '../payload.js';
import { type HttpTarget, postJson } from './http-post.js';
import type { DeliveryResult } from './result.js';

const emoji: Record<string, string> = { low: ':information_source:', medium: ':warning:', high: ':rotating_light:', critical: ':fire:' };

export function slackMessage(payload: NotificationPayload) {
  const { data } = payload;
  const event = payload.type.slice('alert.'.length);
  const marker = event === 'resolved' ? ':white_check_mark:' : (emoji[data.severity] ?? '');
  const fields = Object.entries(data.figures).slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${String(v)}` }));
  return {
    text: headline(payload),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${data.severity.toUpperCase()} alert ${event}`.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: `${marker} ${data.summary}` } },
      ...(fields.length ? [{ type: 'section', fields }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${data.source} · ${data.name} · ${data.id} · first seen ${data.firstSeenAt}` }] },
    ],
  };
}

export function sendSlack(target: HttpTarget, url: string, payload: NotificationPayload): Promise<DeliveryResult> {
  return postJson(target, url, {}, JSON.stringify(slackMessage(payload)));
}
