// Property-based fuzzing of the admin API (issue 10): every route of /admin/v1, with route
// parameters, query strings and JSON bodies an attacker picks, sent as an admin, as a viewer and
// with no or broken credentials. Properties: never a 500, the gateway keeps answering /health,
// and every refusal is a catalogued error in the OpenAI shape (Anthropic's when anthropic-version
// is sent) with x-request-id.
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { adminRoutes } from '../../src/admin/routes/index.js';
import { createAdminKey } from '../../src/control/admin-keys.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { setupChange } from '../admin/support.js';
import { deep, type HeaderList, mutatedJson, obj, prototypeTrap, requestBody } from './support/arbitraries.js';
import { gatewayAnswerProblem } from './support/error-shape.js';
import { rawRequest } from './support/raw-http.js';

let mock: MockUpstream;
let gw: TestGateway;
const tokens = { admin: '', viewer: '' };
const ids = { org: '', user: '', key: '' };

// Every admin route, as its method and path template, taken from the route table itself so a new
// route is fuzzed the day it is added; plus paths no route serves.
const routes = [...adminRoutes.map((r) => `${r.method} ${r.path}`), 'GET /openapi.json', 'GET /nope', 'POST /'];

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
  const db = gw.app.database.db;
  tokens.admin = (await createAdminKey(db, setupChange, { name: 'fuzz admin', role: 'admin', userId: null })).key;
  tokens.viewer = (await createAdminKey(db, setupChange, { name: 'fuzz viewer', role: 'viewer', userId: null })).key;
  Object.assign(ids, { org: gw.created.orgId, user: gw.created.userId, key: gw.created.id });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

const odd = fc.constantFrom('%', '%zz', '%e0%a4', '..', '.', '%2e%2e', '%2f', '%5c', '\\', '%00', '%20', '-1', '0', 'null', 'undefined', '__proto__', 'constructor', 'x'.repeat(3000), '%F0%9F%A6%99', 'default', 'starter');
const param = fc.oneof(
  fc.constantFrom('org', 'user', 'key').map((k) => ids[k as keyof typeof ids]),
  odd,
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 }).map((s) => s.replaceAll('/', '%2F').replaceAll('?', '%3F').replaceAll('#', '%23')),
);
const pathOf = fc.tuple(fc.constantFrom(...routes), fc.array(param, { minLength: 2, maxLength: 2 }), fc.boolean()).map(([route, [a, b], trailing]) => {
  const [method, template] = route.split(' ') as [string, string];
  let nth = 0;
  const path = template.replace(/:[A-Za-z]+/g, () => (nth++ === 0 ? a! : b!));
  return { route, method, path: path + (trailing ? '/' : '') };
});

const queryValue = fc.oneof(
  fc.constantFrom('', '-1', '0', '1e9', '99999999999999999999', 'abc', '%zz', '2026-13-45', '2026-01-01T00:00:00Z', 'csv', 'jsonl', 'x'.repeat(2000), 'true'),
  fc.constantFrom('2026-11-01', '2026-11', '2026-11-30T23:59:59+05:30', 'day,team', 'tag:a,hour,model', 'week,month', 'Asia/Kolkata', 'Mars/Olympus', 'project:a', 'pdf', 'html', 'events'),
  fc.constantFrom('org', 'user').map((k) => ids[k as keyof typeof ids]),
);
const query = fc
  .array(
    fc.tuple(fc.constantFrom('limit', 'cursor', 'from', 'to', 'format', 'orgId', 'teamId', 'userId', 'q', 'role', 'status', 'scope', 'action', 'limit[]', '__proto__', 'groupBy', 'tz', 'org', 'period', 'tag', 'source', 'top', 'user'), queryValue),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`));

// Fields the admin schemas read, with plausible and hostile values.
const adminValue = fc.oneof(
  fc.constantFrom('org', 'user', 'key').map((k) => JSON.stringify(ids[k as keyof typeof ids])),
  fc.constantFrom('"admin"', '"viewer"', '"manager"', '"owner"', '"tokens"', '"costMicros"', '"requests"', '"day"', '"month"', '"session"', '"user"', '"team"', '"org"', '"*"', '"Europe/Paris"', '"Mars/Olympus"', '"2099-01-01T00:00:00Z"', '"not a date"', '["gpt-4o-mini"]', '{"a":"b"}', '"name,email\\nx,y@z"', '"a@b.c"'),
  fc.constantFrom('0', '-1', '1', '100', '1e999', '1.5', '9007199254740993', 'null', 'true', '[]', '{}', '""'),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  prototypeTrap,
  deep,
);
const adminFields = ['__proto__', 'toString', 'name', 'email', 'role', 'orgId', 'teamId', 'parentId', 'userId', 'scope', 'scopeId', 'metric', 'window', 'limit', 'timezone', 'warnPct', 'criticalPct', 'clamp', 'amount', 'reason', 'expiresAt', 'models', 'scopes', 'metadata', 'csv', 'budgets', 'allowedModels'];
const adminBody = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(fc.constantFrom(...adminFields), adminValue), { maxLength: 6 }).map(obj) },
  { weight: 2, arbitrary: requestBody },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

// Bodies each write route accepts, to mutate one value of: reaches the handlers and the database
// rather than stopping at validation. Built once the fixture's ids exist.
const validBodies = (): Record<string, object> => ({
  'POST /admin-keys': { name: 'k', role: 'viewer' },
  'PUT /budgets': { scope: 'user', scopeId: ids.user, metric: 'tokens', window: 'day', limit: 1000 },
  'PATCH /budgets/:id': { limit: 2000 },
  'POST /keys': { userId: ids.user, name: 'k' },
  'PATCH /keys/:id': { name: 'k2' },
  'POST /keys/:id/rotate': { graceMs: 1000 },
  'POST /orgs': { name: 'o' },
  'POST /quota-requests': { budgetId: 'bud_x', amount: 10, justification: 'more' },
  'POST /quota-requests/:id/deny': { reason: 'no' },
  'POST /teams': { orgId: ids.org, name: 't' },
  'PATCH /teams/:id': { name: 't2' },
  'PUT /budget-templates/:name': { rules: [{ metric: 'tokens', window: 'day', limit: 10 }], warnPct: 50, criticalPct: 90 },
  'POST /budget-templates/:name/apply': { scope: 'user', scopeId: ids.user },
  'POST /users': { orgId: ids.org, name: 'u', email: 'u@example.com' },
  'POST /users/import': { orgId: ids.org, csv: 'name,email,team,role\nx,x@example.com,,developer' },
  'PATCH /users/:id': { name: 'u2' },
});

// A route and a body for it: a mutated valid body where the route has one, else any hostile one.
const callOf = () => {
  const valid = validBodies();
  return pathOf.chain((call) => {
    const base = valid[call.route];
    return fc.tuple(fc.constant(call), base ? fc.oneof({ weight: 2, arbitrary: mutatedJson(base) }, { weight: 1, arbitrary: adminBody }) : adminBody);
  });
};

async function healthAnswers(): Promise<void> {
  const res = await request(`${gw.url}/health`);
  await res.body.dump();
  expect(res.statusCode).toBe(200);
}

const auth = (who: 'admin' | 'viewer' | 'none' | 'garbage' | 'data-plane' | 'near-miss'): HeaderList => {
  if (who === 'none') return [];
  if (who === 'garbage') return [['authorization', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']];
  if (who === 'data-plane') return [['authorization', `Bearer ${gw.key}`]];
  if (who === 'near-miss') return [['authorization', `Bearer ${tokens.admin}x`]];
  return [['authorization', `Bearer ${tokens[who]}`]];
};

// Statuses answered, so a run that never got past authentication or validation shows up as such.
const seen = new Set<number>();

async function expectAdminAnswer(who: Parameters<typeof auth>[0], req: { method: string; path: string }, q: string, body: string | undefined, anthropicVersion: boolean): Promise<void> {
  const headers: HeaderList = [...auth(who), ...(body !== undefined ? ([['content-type', 'application/json']] as HeaderList) : []), ...(anthropicVersion ? ([['anthropic-version', '2023-06-01']] as HeaderList) : [])];
  const res = await rawRequest(gw.url, { method: req.method, target: `/admin/v1${req.path}${q}`, headers, body });
  seen.add(res.status);
  expect(gatewayAnswerProblem(res, anthropicVersion ? 'anthropic' : 'openai')).toBeUndefined();
  await healthAnswers();
}

const runs = (n: number) => ({ numRuns: Number(process.env.FUZZ_RUNS ?? n), interruptAfterTimeLimit: Number(process.env.FUZZ_TIME_MS ?? 20_000) });

describe('hostile input on the admin API', () => {
  it('an admin sending hostile parameters, queries and bodies never gets a 500 or an unshaped error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'admin' | 'viewer'>('admin', 'admin', 'viewer'), callOf(), query, fc.boolean(), async (who, [req, body], q, anthropicVersion) =>
        expectAdminAnswer(who, req, q, body, anthropicVersion),
      ),
      runs(300),
    );
    // Not vacuous: some hostile calls were accepted and some refused.
    expect([...seen].some((s) => s < 300), `statuses seen: ${[...seen].join(', ')}`).toBe(true);
    expect([...seen].some((s) => s >= 400)).toBe(true);
  }, 60_000);

  it('a caller without a valid admin credential never gets a 500 or an unshaped error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<'none' | 'garbage' | 'data-plane' | 'near-miss'>('none', 'garbage', 'data-plane', 'near-miss'), callOf(), query, fc.boolean(), async (who, [req, body], q, anthropicVersion) =>
        expectAdminAnswer(who, req, q, body, anthropicVersion),
      ),
      runs(200),
    );
  }, 60_000);
});
