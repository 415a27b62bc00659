// The web console in Debian's Chromium (playwright-core): sign-in as an admin (admin key), a
// manager (JWT) and a user (their Tollgate key), figures against the admin API's own answers, the key shown once, alert acknowledgement,
// quota approval, RBAC seen through the console, and no request leaving the gateway's origin.
// Each test leaves a screenshot in test-screenshots/ (git-ignored) for a person to look at.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { decodeJwt, SignJWT } from 'jose';
import { request } from 'undici';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const screenshots = 'test-screenshots';
const jwtIssuer = 'https://idp.test';
const jwtSecret = randomBytes(32).toString('hex');
let mock: MockUpstream;
let gw: TestGateway;
let browser: Browser;
let adminKey: string;
// The manager signs in with a JWT from the configured issuer, the admin with an admin key.
let managerJwt: string;
let orgId: string;
let alice: { key: string; userId: string; teamId: string | null };
let bob: { key: string; keyId: string; userId: string; teamId: string | null };
// Every URL any console page asked for, across all tests.
const requested: string[] = [];

const today = new Date().toISOString().slice(0, 10);
const monthStart = `${today.slice(0, 8)}01`;

async function adminApi<T>(path: string, key = adminKey): Promise<T> {
  const res = await request(`${gw.url}/admin/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
  const body = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(body)}`);
  return body as T;
}

const chat = (key: string, content: string) =>
  request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: 40, messages: [{ role: 'user', content }] }),
  }).then((r) => r.body.text());

async function signedInPage(credential: string): Promise<{ context: BrowserContext; page: Page }> {
  // UTC, so the page's "today" is the day the assertions ask the API about.
  const context = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  await page.goto(`${gw.url}/dashboard`);
  await page.getByTestId('credential').fill(credential);
  await page.getByTestId('sign-in-submit').click();
  await page.getByTestId('who').waitFor();
  return { context, page };
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${screenshots}/${name}.png`, fullPage: true });

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock, overrides: { 'admin.jwt': { issuer: jwtIssuer, secret: jwtSecret } } });
  const a = await gw.newKey({ org: 'acme', team: 'platform', user: 'ana' });
  const b = await gw.newKey({ org: 'acme', team: 'research', user: 'ben' });
  orgId = a.orgId;
  alice = { key: a.key, userId: a.userId, teamId: a.teamId };
  bob = { key: b.key, keyId: b.id, userId: b.userId, teamId: b.teamId };
  const cara = await gw.newKey({ org: 'acme', team: 'platform', user: 'cara' });
  adminKey = (await gw.admin.call<{ key: string }>('POST', '/admin-keys', { body: { name: 'ops', role: 'admin' } })).key;
  managerJwt = await new SignJWT({ role: 'manager' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(jwtIssuer)
    .setAudience('tollgate-admin')
    .setSubject(cara.userId)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(jwtSecret));
  await gw.admin.call('PUT', '/budgets', { body: { scope: 'user', scopeId: alice.userId, metric: 'costMicros', window: 'month', limit: 5_000_000 } });
  // Dollars rather than fractions of a cent, so the page's rounding is visible in the comparison.
  for (let i = 0; i < 3; i++) await chat(alice.key, '[mock prompt_tokens=200000 completion_tokens=20000]');
  for (let i = 0; i < 2; i++) await chat(bob.key, '[mock prompt_tokens=300000 completion_tokens=30000]');
  // The ledger is written in the background: wait until all five requests are in it.
  for (let tries = 0; tries < 100; tries++) {
    const usage = await adminApi<{ totals: { requests: number } }>(`/usage?from=${today}&to=${today}&tz=UTC`);
    if (usage.totals.requests === 5) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await mock?.close();
});

describe('web console', () => {
  it("shows an admin the overview with the same figures as the admin API's, live", async () => {
    const { context, page } = await signedInPage(adminKey);
    const day = await adminApi<{ totals: { costMicros: number; requests: number } }>(`/usage?from=${today}&to=${today}&tz=UTC&org=${orgId}`);
    const month = await adminApi<{ totals: { costMicros: number } }>(`/usage?from=${monthStart}&to=${today}&tz=UTC&org=${orgId}`);
    expect(day.totals.requests).toBe(5);
    expect(day.totals.costMicros).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('spend-today').getAttribute('data-raw')).toBe(String(day.totals.costMicros));
    expect(await page.getByTestId('spend-month').getAttribute('data-raw')).toBe(String(month.totals.costMicros));
    const shown = await page.getByTestId('spend-today').locator('.stat-value').textContent();
    expect(shown).toBe(new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(day.totals.costMicros / 1e6));
    await page.getByTestId('top-users').waitFor();
    expect(await page.getByTestId('top-users').textContent()).toContain(bob.userId);
    await page.getByTestId('forecast').waitFor();
    await expect.poll(() => page.getByTestId('health').textContent()).toContain('ready');
    await shot(page, 'admin-overview');
    // A report downloads from the same API, as a file.
    await page.getByTestId('nav-reports').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-download').click()]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const csv = await (await download.createReadStream()).toArray();
    expect(Buffer.concat(csv).toString('utf8')).toContain(String(month.totals.costMicros));
    // New traffic shows up on the open overview without a reload (it polls every 5 s).
    await page.getByTestId('nav-overview').click();
    await expect.poll(() => page.getByTestId('spend-today').getAttribute('data-raw')).toBe(String(day.totals.costMicros));
    await chat(bob.key, '[mock prompt_tokens=100000 completion_tokens=10000]');
    let after = day.totals;
    for (let tries = 0; tries < 50 && after.requests === day.totals.requests; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      after = (await adminApi<{ totals: { costMicros: number; requests: number } }>(`/usage?from=${today}&to=${today}&tz=UTC&org=${orgId}`)).totals;
    }
    expect(after.costMicros).toBeGreaterThan(day.totals.costMicros);
    await expect.poll(() => page.getByTestId('spend-today').getAttribute('data-raw'), { timeout: 12_000 }).toBe(String(after.costMicros));
    await context.close();
  });

  it('creates a key and shows it exactly once', async () => {
    const { context, page } = await signedInPage(adminKey);
    await page.getByTestId('nav-keys').click();
    await page.getByTestId('key-user').fill(bob.userId);
    await page.getByTestId('key-name').fill('from the console');
    await page.getByTestId('key-create').click();
    const key = (await page.getByTestId('key-plaintext').textContent())!;
    expect(key).toMatch(/^tg-[\w-]{43}$/);
    // The key works at once...
    const usage = await request(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
    expect(usage.statusCode).toBe(200);
    await usage.body.dump();
    await shot(page, 'admin-key-created');
    // ...and is nowhere once the notice is closed or the page reloaded.
    await page.getByTestId('key-once-close').click();
    expect(await page.content()).not.toContain(key);
    await page.reload();
    await page.getByTestId('keys').waitFor();
    expect(await page.content()).not.toContain(key);
    expect(await page.getByTestId('keys').textContent()).toContain('from the console');
    await context.close();
  });

  it('acknowledges an alert', async () => {
    const { alertId } = await gw.app.alerts.sink.raise({
      fingerprint: 'console-test:alice-month', source: 'budget', name: 'budget.warning', severity: 'medium',
      summary: 'alice used 80% of costMicros/month', orgId, teamId: alice.teamId, userId: alice.userId,
    });
    const { context, page } = await signedInPage(adminKey);
    await page.getByTestId('active-alerts').getByText('alice used 80%').waitFor();
    await page.getByTestId('nav-alerts').click();
    await page.getByTestId(`ack-${alertId}`).click();
    await expect.poll(() => page.getByTestId(`alert-state-${alertId}`).textContent()).toBe('acknowledged');
    expect((await adminApi<{ state: string }>(`/alerts/${alertId}`)).state).toBe('acknowledged');
    await shot(page, 'admin-alert-acknowledged');
    await context.close();
  });

  it('shows a user only their own usage and takes their quota request, which their manager approves', async () => {
    const { context, page } = await signedInPage(alice.key);
    expect(await page.getByTestId('nav-me').isVisible()).toBe(true);
    expect(await page.getByTestId('nav-keys').count()).toBe(0);
    const mine = (await (await request(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${alice.key}` } })).body.json()) as { today: { cost_micros: number }; budgets: Array<{ limit: number }> };
    await expect.poll(() => page.getByTestId('my-today').getAttribute('data-raw')).toBe(String(mine.today.cost_micros));
    expect(mine.today.cost_micros).toBeGreaterThan(0);
    expect(await page.getByTestId('my-budgets').textContent()).toContain('5.00');
    // The admin API through this session answers for alice alone, and refuses writes.
    const probe = await page.evaluate(async ({ from, to }) => {
      const token = ((await (await fetch('/dashboard/session')).json()) as { csrfToken: string }).csrfToken;
      const headers = { 'x-csrf-token': token, 'content-type': 'application/json' };
      const byUser = await (await fetch(`/admin/v1/usage?from=${from}&to=${to}&tz=UTC&groupBy=user`, { headers })).json();
      const mint = await fetch('/admin/v1/keys', { method: 'POST', headers, body: JSON.stringify({ userId: 'x' }) });
      return { users: (byUser as { rows: Array<{ user: string }> }).rows.map((r) => r.user), mint: mint.status };
    }, { from: monthStart, to: today });
    expect(probe.users).toEqual([alice.userId]);
    expect(probe.mint).toBe(403);
    const budgetId = (await adminApi<{ data: Array<{ id: string; scopeId: string }> }>('/budgets')).data.find((b) => b.scopeId === alice.userId)!.id;
    await page.getByTestId('quota-budget').fill(budgetId);
    await page.getByTestId('quota-amount').fill('2000000');
    await page.getByTestId('quota-why').fill('evaluation run for the launch');
    await page.getByRole('button', { name: 'Request' }).click();
    await page.getByTestId('quota-sent').waitFor();
    await page.getByTestId('thresholds-email').fill('ana@example.com');
    await page.getByTestId('thresholds-list').fill('50, 75');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('thresholds-saved').waitFor();
    const preferences = await (await request(`${gw.url}/v1/alerts/preferences`, { headers: { authorization: `Bearer ${alice.key}` } })).body.json();
    expect(preferences).toMatchObject({ email: 'ana@example.com', thresholds: [50, 75] });
    await shot(page, 'user-self-service');
    await context.close();

    const { context: managerContext, page: manager } = await signedInPage(managerJwt);
    await manager.getByTestId('nav-quota').click();
    const [pending] = (await adminApi<{ data: Array<{ id: string }> }>('/quota-requests?status=pending')).data;
    await manager.getByTestId(`approve-${pending!.id}`).click();
    await manager.getByTestId('quota-requests').getByText('No requests.').waitFor();
    const approved = await adminApi<{ status: string }>(`/quota-requests/${pending!.id}`);
    expect(approved.status).toBe('approved');
    expect((await adminApi<{ limit: number }>(`/budgets/${budgetId}`)).limit).toBe(7_000_000);
    await shot(manager, 'manager-quota-approved');
    await managerContext.close();
  });

  it("does not show a manager another team's people or usage", async () => {
    const { context, page } = await signedInPage(managerJwt);
    // The session ends when the JWT would.
    const who = (await page.evaluate(() => fetch('/dashboard/session').then((r) => r.json()))) as { kind: string; role: string; expiresAt: string };
    expect(who).toMatchObject({ kind: 'jwt', role: 'manager' });
    expect(Date.parse(who.expiresAt)).toBeLessThanOrEqual(decodeJwt(managerJwt).exp! * 1000);
    await page.getByTestId('top-users').waitFor();
    expect(await page.getByTestId('top-users').textContent()).toContain(alice.userId);
    expect(await page.getByTestId('top-users').textContent()).not.toContain(bob.userId);
    await page.getByTestId('nav-people').click();
    await page.getByTestId('team-list').waitFor();
    expect(await page.getByTestId('team-list').textContent()).toContain(alice.teamId!);
    expect(await page.getByTestId('team-list').textContent()).not.toContain(bob.teamId!);
    expect(await page.getByTestId('user-list').textContent()).not.toContain(bob.userId);
    const other = await page.evaluate(async (teamId) => {
      const token = ((await (await fetch('/dashboard/session')).json()) as { csrfToken: string }).csrfToken;
      return (await fetch(`/admin/v1/teams/${teamId}`, { headers: { 'x-csrf-token': token } })).status;
    }, bob.teamId!);
    expect(other).toBe(403);
    await page.getByTestId(`open-team-${alice.teamId}`).click();
    await page.getByTestId('detail-chart').waitFor();
    await shot(page, 'manager-team');
    await context.close();
  });

  it('sets a budget, applies a template, rotates and revokes a key, and finds it all in the audit log', async () => {
    const { context, page } = await signedInPage(adminKey);
    page.on('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('nav-budgets').click();
    const budgetForm = page.getByTestId('budget-form');
    await budgetForm.getByLabel('Id', { exact: true }).fill(bob.userId);
    await budgetForm.getByLabel('Window').selectOption('day');
    await budgetForm.getByLabel('Limit').fill('1000000');
    await budgetForm.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Budget saved.').waitFor();
    const templateForm = page.getByTestId('template-form');
    await templateForm.getByLabel('Template').selectOption('basic_user');
    await templateForm.getByLabel('To').selectOption('team');
    await templateForm.getByLabel('Id', { exact: true }).fill(bob.teamId!);
    await templateForm.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Template basic_user applied.').waitFor();
    const budgets = (await adminApi<{ data: Array<{ scope: string; scopeId: string; metric: string; window: string; limit: number }> }>('/budgets')).data;
    expect(budgets).toContainEqual(expect.objectContaining({ scope: 'user', scopeId: bob.userId, metric: 'costMicros', window: 'day', limit: 1_000_000 }));
    // basic_user: 5,000 tokens a day, 150,000 a month, 500,000 in total.
    expect(budgets.filter((b) => b.scope === 'team' && b.scopeId === bob.teamId).map((b) => [b.metric, b.window, b.limit])).toEqual(
      expect.arrayContaining([['tokens', 'day', 5_000], ['tokens', 'month', 150_000], ['tokens', 'total', 500_000]]),
    );
    await page.getByTestId('budgets').getByText(`user ${bob.userId}`).first().waitFor();
    await shot(page, 'admin-budgets');

    await page.getByTestId('nav-keys').click();
    await page.getByTestId(`rotate-${bob.keyId}`).click();
    expect(await page.getByTestId('key-plaintext').textContent()).toMatch(/^tg-/);
    await page.getByTestId('key-once-close').click();
    await page.getByTestId(`revoke-${bob.keyId}`).click();
    await page.getByTestId(`revoke-${bob.keyId}`).waitFor({ state: 'detached' });
    const refused = await request(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${bob.key}` } });
    expect(await refused.body.json()).toMatchObject({ error: { code: 'revoked_api_key' } });

    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-resourceId').fill(bob.keyId);
    await page.getByTestId('audit-apply').click();
    await expect.poll(async () => (await page.getByTestId('audit').locator('tbody tr').allTextContents()).map((row) => row.match(/key\.(create|rotate|revoke)/)?.[0])).toEqual(['key.revoke', 'key.rotate', 'key.create']);
    await shot(page, 'admin-audit');
    await context.close();
  });

  it('keeps the session cookie HttpOnly and SameSite=Strict, refuses requests without its token, and signs out', async () => {
    const { context, page } = await signedInPage(adminKey);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'tollgate_console', httpOnly: true, sameSite: 'Strict', path: '/' });
    const page1 = await request(`${gw.url}/dashboard`);
    expect(page1.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page1.headers['content-security-policy']).not.toContain('unsafe-inline');
    await page1.body.dump();
    // The cookie alone (a forged cross-site request) reads nothing and changes nothing.
    const forged = await request(`${gw.url}/admin/v1/keys`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
    expect(forged.statusCode).toBe(403);
    expect(await forged.body.json()).toMatchObject({ error: { code: 'forbidden' } });
    // Assets: immutable under a hashed path, with their content type; the page itself is revalidated.
    expect(page1.headers['cache-control']).toBe('no-cache');
    const script = requested.find((url) => /\/dashboard\/assets\/[0-9a-f]{16}\/app\.js$/.test(url))!;
    const asset = await request(script);
    expect(asset.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' });
    await asset.body.dump();
    const wrong = await request(`${gw.url}/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ credential: 'tga-not-a-real-key' }) });
    expect(wrong.statusCode).toBe(401);
    expect(await wrong.body.json()).toMatchObject({ error: { code: 'admin_unauthorized' } });
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const crossSite = await request(`${gw.url}/dashboard/session`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ credential: adminKey }) });
    expect(crossSite.statusCode).toBe(403);
    await crossSite.body.dump();
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const after = await request(`${gw.url}/admin/v1/keys`, { headers: { cookie: `${cookie!.name}=${cookie!.value}`, 'x-csrf-token': 'x' } });
    expect(after.statusCode).toBe(401);
    await after.body.dump();
    await shot(page, 'signed-out');
    await context.close();
  });

  it("made no request outside the gateway's origin", () => {
    expect(requested.length).toBeGreaterThan(50);
    const origin = new URL(gw.url).origin;
    expect(requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('blob:') && !url.startsWith('data:'))).toEqual([]);
  });
});
