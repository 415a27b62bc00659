// One POST of a notification body through the destination agent, with the delivery timeout,
// classified the same way for webhooks and Slack: 2xx sent, 410 gone, anything else retried.
import type { Agent } from 'undici';
import { request } from 'undici';
import { parseRetryAfterMs } from '../backoff.js';
import { assertDestinationUrl, DestinationRefusedError } from '../destination.js';
import type { DeliveryResult } from './result.js';

export interface HttpTarget {
  readonly agent: Agent;
  readonly timeoutMs: number;
  readonly allowPrivate: boolean;
}

const maxErrorChars = 300;

export async function postJson(target: HttpTarget, url: string, headers: Record<string, string>, body: string): Promise<DeliveryResult> {
  try {
    assertDestinationUrl(url, target.allowPrivate);
    const res = await request(url, {
      method: 'POST',
      dispatcher: target.agent,
      headers: { 'content-type': 'application/json', 'user-agent': 'tollgate-alerts', ...headers },
      body,
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    const text = (await res.body.text()).slice(0, maxErrorChars);
    if (res.statusCode >= 200 && res.statusCode < 300) return { outcome: 'sent', status: res.statusCode };
    const error = `HTTP ${res.statusCode}${text ? `: ${text}` : ''}`;
    if (res.statusCode === 410) return { outcome: 'gone', status: 410, error };
    const retryAfter = res.headers['retry-after'];
    return { outcome: 'retry', status: res.statusCode, error, retryAfterMs: parseRetryAfterMs(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now()) };
  } catch (err) {
    const e = err as Error & { code?: string; cause?: Error & { code?: string } };
    if (err instanceof DestinationRefusedError || e.cause instanceof DestinationRefusedError || e.code === 'EDESTINATION' || e.cause?.code === 'EDESTINATION') {
      return { outcome: 'rejected', status: null, error: (e.cause instanceof DestinationRefusedError ? e.cause : e).message };
    }
    const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? `timed out after ${target.timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`;
    return { outcome: 'retry', status: null, error: reason };
  }
}
