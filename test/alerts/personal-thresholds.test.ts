// Personal thresholds end to end: a user sets 50% and 75% and their email with their own key; two
// gateway replicas serve their requests; a real SMTP server receives exactly one email per
// threshold passed, addressed to that user, with the budget's figures, and none for the org's
// channels. Bad preferences are refused with a field-named 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { runCli } from '../helpers/processes.js';
import { chatStatus } from '../helpers/requests.js';
import { postgresAvailable, redisAvailable } from '../helpers/services.js';
import { type MailReceiver, startMailReceiver } from './receivers.js';

const ready = (await redisAvailable()) && (await postgresAvailable());

describe.skipIf(!ready)('personal budget thresholds', () => {
  let cluster: Cluster;
  let mail: MailReceiver;

  beforeAll(async () => {
    mail = await startMailReceiver();
    cluster = await startCluster('alert_personal', 2, {
      SMTP_URL: mail.smtpUrl,
      TOLLGATE_ALERTS__DELIVERY__POLL_INTERVAL_MS: '100',
      TOLLGATE_ALERT_RULES__EVALUATE_INTERVAL_MS: '200',
      TOLLGATE_ALERT_RULES__LEADER_TTL_MS: '2000',
    });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await mail?.stop();
  });

  const preferences = (url: string, key: string, method: 'GET' | 'PUT', body?: unknown) =>
    fetch(`${url}/v1/alerts/preferences`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  it('emails the user once per threshold they set, whichever replica served the requests', async () => {
    const { key, userId } = await cluster.key('carol');
    const set = await runCli(['budgets', 'set', '--user', 'carol', '--metric', 'requests', '--window', 'day', '--limit', '20'], cluster.env);
    expect(set.code, set.stderr).toBe(0);
    const [a, b] = cluster.gateways.map((g) => g.url) as [string, string];

    const put = await preferences(a, key, 'PUT', { email: 'carol@example.com', thresholds: [75, 50] });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ object: 'alert_preferences', user_id: userId, email: 'carol@example.com', thresholds: [50, 75], key_id: expect.any(String) });
    expect(await (await preferences(b, key, 'GET')).json()).toMatchObject({ email: 'carol@example.com', thresholds: [50, 75] });
    for (const g of [a, b]) await expect.poll(async () => (await fetch(`${g}/v1/usage`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text())).includes('"limit":20'), { timeout: 5_000 }).toBe(true);

    // 9 of 20: nothing. 10 of 20 is 50%: one email.
    for (let i = 0; i < 9; i++) expect(await chatStatus(i % 2 ? a : b, key)).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(mail.mails).toHaveLength(0);
    expect(await chatStatus(a, key)).toBe(200);
    await expect.poll(() => mail.mails.length, { timeout: 10_000 }).toBe(1);
    // 15 of 20 is 75%: the second.
    for (let i = 0; i < 5; i++) expect(await chatStatus(i % 2 ? a : b, key)).toBe(200);
    await expect.poll(() => mail.mails.length, { timeout: 10_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(mail.mails).toHaveLength(2);

    const [first, second] = mail.mails;
    expect(first!.to).toMatchObject({ text: 'carol@example.com' });
    expect(first!.subject).toContain('passed your 50% alert: 10 of 20 (50%)');
    expect(second!.subject).toContain('passed your 75% alert: 15 of 20 (75%)');
    expect(second!.text).toContain('threshold: 75');
  }, 60_000);

  it('refuses preferences it cannot honour, naming the field', async () => {
    const { key } = await cluster.key('dan');
    const url = cluster.gateways[0]!.url;
    const bad = await preferences(url, key, 'PUT', { email: 'dan@example.com', thresholds: [50, 150] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request', param: 'thresholds.1' } });
    const noEmail = await preferences(url, key, 'PUT', { email: 'not an address', thresholds: [50] });
    expect(await noEmail.json()).toMatchObject({ error: { code: 'invalid_request', param: 'email' } });
    // An empty list turns them off.
    await preferences(url, key, 'PUT', { email: 'dan@example.com', thresholds: [50] });
    expect(await (await preferences(url, key, 'PUT', { email: 'dan@example.com', thresholds: [] })).json()).toMatchObject({ email: null, thresholds: [] });
  });
});
