// Attacks on admin API authentication: JWTs that never expire, lack an audience or use an
// algorithm nobody configured; JWT subjects that are no Tollgate user reading every org; a weak
// TOLLGATE_ADMIN_KEY; bad input answered with 500s; and denials nobody hears about.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { exportJWK, type JWTPayload, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { createAdminApi } from '../../src/admin/index.js';
import { registerBootstrapKey } from '../../src/control/admin-keys.js';
import { createOrg } from '../../src/control/orgs.js';
import { createUser } from '../../src/control/users.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { sendError, toGatewayError } from '../../src/server/send.js';
import { type AdminFixture, setupChange, startAdminFixture } from '../admin/support.js';

const issuer = 'https://idp.example';
const secret = 'test-hs256-secret-0123456789-0123456789';
const hmacKey = new TextEncoder().encode(secret);

interface Mint {
  alg?: string;
  aud?: string | null;
  exp?: number | null;
  iat?: number | null;
}

const now = () => Math.floor(Date.now() / 1000);

function signer(claims: JWTPayload, m: Mint) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: m.alg ?? 'HS256', kid: 'k1' }).setIssuer(issuer);
  if (m.aud !== null) jwt.setAudience(m.aud ?? 'tollgate-admin');
  if (m.iat !== null) jwt.setIssuedAt(m.iat ?? now());
  if (m.exp !== null) jwt.setExpirationTime(m.exp ?? now() + 600);
  return jwt;
}

const hsToken = (claims: JWTPayload, m: Mint = {}) => signer(claims, m).sign(hmacKey);

let mock: MockUpstream;
let f: AdminFixture;
let otherOrgId: string;
let ginaId: string;

beforeAll(async () => {
  mock = await startMockUpstream();
  f = await startAdminFixture(mock, { overrides: { 'admin.jwt': { issuer, secret, orgClaim: 'org_id' } } });
  const db = f.gw.app.database.db;
  otherOrgId = (await createOrg(db, setupChange, { name: 'globex' })).id;
  ginaId = (await createUser(db, setupChange, { orgId: otherOrgId, name: 'gina', email: 'gina@globex.test' })).id;
});

afterAll(async () => {
  await f?.gw.close();
  await mock?.close();
});

const unauthorized = { error: { code: 'admin_unauthorized', type: 'authentication_error' } };

describe('admin JWTs', () => {
  it('accepts a well-formed short-lived admin JWT (the baseline the attacks below vary)', async () => {
    const res = await f.call('GET', '/orgs', await hsToken({ sub: 'root@idp', role: 'admin' }));
    expect(res.status, res.text).toBe(200);
  });

  it('a JWT without exp cannot be used forever', async () => {
    const res = await f.call('GET', '/orgs', await hsToken({ sub: 'root@idp', role: 'admin' }, { exp: null }));
    expect(res.status, res.text).toBe(401);
    expect(res.body).toMatchObject(unauthorized);
  });

  it('a JWT valid for longer than admin.jwt.maxAgeSec is refused', async () => {
    const res = await f.call('GET', '/orgs', await hsToken({ sub: 'root@idp', role: 'admin' }, { exp: now() + 7 * 86_400 }));
    expect(res.status, res.text).toBe(401);
    expect(res.body).toMatchObject(unauthorized);
    const stale = await f.call('GET', '/orgs', await hsToken({ sub: 'root@idp', role: 'admin' }, { iat: now() - 86_400, exp: now() + 60 }));
    expect(stale.status, stale.text).toBe(401);
  });

  it('a JWT minted for another audience (or none) is refused', async () => {
    for (const aud of [null, 'some-other-app']) {
      const res = await f.call('GET', '/orgs', await hsToken({ sub: 'root@idp', role: 'admin' }, { aud }));
      expect(res.status, `aud ${aud}: ${res.text}`).toBe(401);
      expect(res.body).toMatchObject(unauthorized);
    }
  });

  it('an HMAC JWT signed with another algorithm than HS256 is refused', async () => {
    const res = await f.call('GET', '/orgs', await hsToken({ sub: 'root@idp', role: 'admin' }, { alg: 'HS384' }));
    expect(res.status, res.text).toBe(401);
    expect(res.body).toMatchObject(unauthorized);
  });

  it('an analyst JWT whose sub is no Tollgate user and carries no org cannot read every org', async () => {
    const res = await f.call('GET', '/users?limit=1000', await hsToken({ sub: 'stranger@elsewhere', role: 'analyst' }));
    expect(res.status, res.text).toBe(401);
    expect(res.body).toMatchObject(unauthorized);
  });

  it("an analyst JWT with an org claim sees that org's data only", async () => {
    const token = await hsToken({ sub: 'auditor@globex', role: 'analyst', org_id: otherOrgId });
    const users = await f.call('GET', '/users?limit=1000', token);
    expect(users.status, users.text).toBe(200);
    expect(new Set((users.body.data as Array<{ orgId: string }>).map((u) => u.orgId))).toEqual(new Set([otherOrgId]));
    const audit = await f.call('GET', '/audit?limit=1000', token);
    expect(audit.status, audit.text).toBe(200);
    expect(new Set((audit.body.data as Array<{ orgId: string }>).map((e) => e.orgId))).toEqual(new Set([otherOrgId]));
    expect((await f.call('GET', `/orgs/${f.orgId}`, token)).status).toBe(403);
  });

  it("an analyst JWT whose sub is a user's email acts as that user, within their org", async () => {
    const token = await hsToken({ sub: 'gina@globex.test', role: 'analyst' });
    const orgs = await f.call('GET', '/orgs', token);
    expect(orgs.status, orgs.text).toBe(200);
    expect((orgs.body.data as Array<{ id: string }>).map((o) => o.id)).toEqual([otherOrgId]);
  });

  it("an org claim naming no org, or another org than the user's, is refused", async () => {
    expect((await f.call('GET', '/orgs', await hsToken({ sub: 'x', role: 'viewer', org_id: 'org_nope' }))).status).toBe(401);
    expect((await f.call('GET', '/orgs', await hsToken({ sub: ginaId, role: 'viewer', org_id: f.orgId }))).status).toBe(401);
  });
});

describe('admin JWTs from a JWKS', () => {
  let jwks: Server;
  let g: AdminFixture;
  let rsa: KeyObject;

  beforeAll(async () => {
    // A Node key object, not a WebCrypto key, so one RSA key can sign both RS256 and PS256.
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsa = pair.privateKey;
    // No `alg` in the published key, as many IdPs publish them: only the config can pin it.
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', use: 'sig' };
    jwks = createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    g = await startAdminFixture(mock, { overrides: { 'admin.jwt': { issuer, jwksUrl } } });
  });

  afterAll(async () => {
    await g?.gw.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  it('accepts an RS256 JWT signed by a published key', async () => {
    const res = await g.call('GET', '/orgs', await signer({ sub: 'root@idp', role: 'admin' }, { alg: 'RS256' }).sign(rsa));
    expect(res.status, res.text).toBe(200);
  });

  it('a JWT signed with an algorithm outside admin.jwt.algorithms (PS256 with the same RSA key) is refused', async () => {
    const res = await g.call('GET', '/orgs', await signer({ sub: 'root@idp', role: 'admin' }, { alg: 'PS256' }).sign(rsa));
    expect(res.status, res.text).toBe(401);
    expect(res.body).toMatchObject(unauthorized);
  });
});

describe('TOLLGATE_ADMIN_KEY', () => {
  it('a short or unprefixed bootstrap key is refused at startup, naming the variable', async () => {
    const db = f.gw.app.database.db;
    for (const weak of ['hunter2', 'tga-short', 'x'.repeat(40)]) {
      await expect(registerBootstrapKey(db, setupChange, weak)).rejects.toThrow(/TOLLGATE_ADMIN_KEY/);
    }
    await expect(registerBootstrapKey(db, setupChange, `tga-${'k'.repeat(40)}`)).resolves.toBeUndefined();
  });
});

// Sends the request line as given: clients would re-encode a malformed escape.
function rawRequest(port: number, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

// The admin handler mounted on a server of its own, with a logger and metrics to look at: what
// the admin API does itself, whatever the gateway's front door does before it.
const bare = {
  port: 0,
  server: undefined as Server | undefined,
  lines: [] as Array<Record<string, unknown>>,
  metrics: createMetrics(),
};

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => void bare.lines.push(JSON.parse(line) as Record<string, unknown>) });
  const api = createAdminApi(f.gw.app.database.db, f.gw.app.bus, f.gw.app.config.admin, { logger, metrics: bare.metrics });
  bare.server = createServer((req, res) => {
    api.http(req, res, String(req.headers['x-test-request-id'])).catch((err: unknown) => sendError(res, 'openai', toGatewayError(err)));
  });
  await new Promise<void>((resolve) => bare.server!.listen(0, '127.0.0.1', resolve));
  bare.port = (bare.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => bare.server?.close(resolve));
});

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown;

describe('bad input on admin routes', () => {
  it('a malformed %-escape in an admin path parameter is a 400, not a 500', async () => {
    const request = ['GET /admin/v1/users/%E0%A4%A HTTP/1.1', 'host: x', `authorization: Bearer ${f.tokens.admin}`, 'connection: close'];
    const direct = await rawRequest(bare.port, request);
    expect(direct).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(direct)).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error' } });
    // Through the gateway the front door may refuse it first; either way not a 500.
    const viaGateway = await rawRequest(f.gw.app.port, request);
    expect(viaGateway).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(viaGateway)).toMatchObject({ error: { code: expect.stringMatching(/^invalid_(request|path)$/) } });
  });

  it('a budget template name outside the naming rule is a 400 naming the path, not a 500 (found by the fuzz suite)', async () => {
    const res = await f.call('PUT', `/budget-templates/${encodeURIComponent('ru&>')}`, f.tokens.admin, { rules: [{ metric: 'tokens', window: 'day', limit: 10 }] });
    expect(res.status, res.text).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'invalid_request', message: expect.stringMatching(/^path: /) } });
  });

  it('an empty PATCH is a 400 invalid_request, not a 500', async () => {
    for (const path of [`/keys/${f.devKeyId}`, `/users/${f.users.dev}`]) {
      const res = await f.call('PATCH', path, f.tokens.admin, {});
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error' } });
    }
  });
});

describe('denied admin attempts', () => {
  const send = async (requestId: string, method: string, path: string, token: string) => {
    const res = await fetch(`http://127.0.0.1:${bare.port}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'x-test-request-id': requestId } });
    await res.text();
    return res.status;
  };

  it('logs each refused credential and role, without the token, and counts them', async () => {
    const expired = await hsToken({ sub: 'root@idp', role: 'admin' }, { iat: now() - 1200, exp: now() - 600 });
    expect(await send('rid-expired', 'GET', '/orgs', expired)).toBe(401);
    expect(await send('rid-badkey', 'GET', '/orgs', 'tga-not-a-real-key-0123456789abcdef')).toBe(401);
    expect(await send('rid-role', 'GET', '/admin-keys', f.tokens.developer)).toBe(403);

    const byId = (id: string) => bare.lines.find((l) => l.requestId === id);
    expect(byId('rid-expired')).toMatchObject({ level: 40, method: 'GET', path: '/admin/v1/orgs', code: 'admin_unauthorized', credential: 'jwt' });
    expect(String(byId('rid-expired')!.reason)).toMatch(/expired/i);
    expect(byId('rid-badkey')).toMatchObject({ level: 40, code: 'admin_unauthorized', credential: 'admin_key' });
    expect(byId('rid-role')).toMatchObject({ level: 40, code: 'forbidden', role: 'developer', path: '/admin/v1/admin-keys' });
    expect(byId('rid-role')!.actorId).toEqual(expect.stringMatching(/^adk_/));
    const logged = JSON.stringify(bare.lines);
    expect(logged).not.toContain(expired);
    expect(logged).not.toContain(f.tokens.developer);

    const counted = await bare.metrics.registry.getSingleMetricAsString('tollgate_admin_denials_total');
    expect(counted).toMatch(/tollgate_admin_denials_total\{code="admin_unauthorized",credential="jwt"\} 1/);
    expect(counted).toMatch(/tollgate_admin_denials_total\{code="admin_unauthorized",credential="admin_key"\} 1/);
    expect(counted).toMatch(/tollgate_admin_denials_total\{code="forbidden",credential="admin_key"\} 1/);
  });
});
