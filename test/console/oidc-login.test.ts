// Console single sign-on: the authorization-code flow (PKCE, state, nonce) against a real local
// OIDC issuer (oidc-provider with its development login pages), driven in Chromium. The ID token
// it returns is checked as an admin JWT, so its role claim decides what the console shows.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type Browser, chromium } from 'playwright-core';
import Provider from 'oidc-provider';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const screenshots = 'test-screenshots';
const clientId = 'tollgate-console';
const clientSecret = 'console-client-secret-for-tests-only';
let idp: Server;
let issuer: string;
let mock: MockUpstream;
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  idp = createServer();
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
  mock = await startMockUpstream();
  gw = await startTestGateway({
    mock,
    overrides: {
      'admin.jwt': { issuer, jwksUrl: `${issuer}/jwks`, audience: clientId, algorithms: ['RS256'] },
      'console.oidc': { issuer, clientId, clientSecret, scopes: 'openid' },
    },
  });
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [`${gw.url}/dashboard/oidc/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub', 'role'] },
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      return { accountId: id, claims: async () => ({ sub: id, role: id.startsWith('ops') ? 'admin' : 'nobody' }) };
    },
    features: { devInteractions: { enabled: true } },
  });
  idp.on('request', provider.callback());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await mock?.close();
  await new Promise((resolve) => idp?.close(resolve));
});

async function logInAt(login: string) {
  const context = await browser.newContext({ timezoneId: 'UTC' });
  const page = await context.newPage();
  await page.goto(`${gw.url}/dashboard`);
  await page.getByTestId('sso').click();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any');
  await page.locator('button[type=submit]').click();
  await page.locator('button[type=submit]').click();
  return { context, page };
}

it('signs an admin in through the issuer with the authorization-code flow', async () => {
  const { context, page } = await logInAt('ops@example.com');
  await page.getByTestId('who').waitFor();
  expect(new URL(page.url()).pathname).toBe('/dashboard');
  expect(await page.getByTestId('who').textContent()).toBe('admin');
  const who = await page.evaluate(() => fetch('/dashboard/session').then((r) => r.json()));
  expect(who).toMatchObject({ kind: 'jwt', role: 'admin', actorId: 'ops@example.com' });
  // The session cookie is set and the login attempt's cookie is gone (cookies ignore ports, so the
  // issuer's own cookies on 127.0.0.1 are listed too).
  const names = (await context.cookies(gw.url)).map((c) => c.name);
  expect(names).toContain('tollgate_console');
  expect(names).not.toContain('tollgate_oidc');
  await page.getByTestId('spend-today').waitFor();
  await page.screenshot({ path: `${screenshots}/oidc-admin.png`, fullPage: true });
  await context.close();
});

it('refuses an ID token without an admin role, and a callback this browser did not start', async () => {
  const { context, page } = await logInAt('someone@example.com');
  await page.getByText('admin_unauthorized').or(page.getByText('role claim')).first().waitFor();
  expect(await page.content()).toContain('role claim');
  await page.screenshot({ path: `${screenshots}/oidc-refused.png`, fullPage: true });
  expect((await context.cookies(gw.url)).map((c) => c.name)).not.toContain('tollgate_console');
  await context.close();
  const forged = await request(`${gw.url}/dashboard/oidc/callback?code=abc&state=guessed`);
  expect(forged.statusCode).toBe(401);
  expect(await forged.body.json()).toMatchObject({ error: { code: 'admin_unauthorized' } });
});
