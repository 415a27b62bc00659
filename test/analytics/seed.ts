// Seeded usage for the analytics suites: two orgs, a team tree, users, keys and a few thousand
// events (pseudo-random but reproducible) over the weeks around both US DST changes of 2026, with
// events placed on the last and first millisecond of local days in New York, Kolkata (+05:30) and
// Kathmandu (+05:45). Written through the ledger writer, so the hourly rollups are the real ones.
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/database.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { writeUsageEvents } from '../../src/usage/ledger.js';

export const seedIds = {
  orgs: ['org_a', 'org_b'],
  // research ⊃ ml; sales apart.
  teams: [
    { id: 'team_research', orgId: 'org_a', parentId: null, name: 'research' },
    { id: 'team_ml', orgId: 'org_a', parentId: 'team_research', name: 'ml' },
    { id: 'team_sales', orgId: 'org_a', parentId: null, name: 'sales' },
    { id: 'team_b', orgId: 'org_b', parentId: null, name: 'ops' },
  ],
  users: [
    { id: 'usr_mia', orgId: 'org_a', teamId: 'team_research', name: 'mia' },
    { id: 'usr_dev', orgId: 'org_a', teamId: 'team_ml', name: 'dev' },
    { id: 'usr_olga', orgId: 'org_a', teamId: 'team_sales', name: 'olga' },
    { id: 'usr_nat', orgId: 'org_a', teamId: null, name: 'nat' },
    { id: 'usr_bo', orgId: 'org_b', teamId: 'team_b', name: 'bo' },
  ],
} as const;

const models = [
  { provider: 'openai', model: 'gpt-4o' },
  { provider: 'openai', model: 'gpt-4o-mini' },
  { provider: 'anthropic', model: 'claude-sonnet-4' },
];

// The ranges events fall in: the weeks around the spring and autumn changes.
export const seedWindows = [
  { fromMs: Date.parse('2026-03-04T00:00:00Z'), toMs: Date.parse('2026-03-12T00:00:00Z') },
  { fromMs: Date.parse('2026-10-27T00:00:00Z'), toMs: Date.parse('2026-11-05T00:00:00Z') },
];

// Local midnights (and New York's DST instants) with events on either side of them.
const edges = [
  '2026-03-08T07:00:00.000Z', // New York springs forward
  '2026-11-01T06:00:00.000Z', // New York falls back
  '2026-11-01T04:00:00.000Z', // New York midnight (EDT)
  '2026-11-02T05:00:00.000Z', // New York midnight (EST)
  '2026-11-01T18:30:00.000Z', // Kolkata midnight
  '2026-11-01T18:15:00.000Z', // Kathmandu midnight
  '2026-03-08T18:30:00.000Z',
  '2026-10-31T23:00:00.000Z', // Berlin midnight (CET)
];

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedEvents(count: number): UsageEvent[] {
  const random = prng(20261101);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const times: number[] = [];
  for (const edge of edges) times.push(Date.parse(edge) - 1, Date.parse(edge));
  while (times.length < count) {
    const w = pick(seedWindows);
    times.push(w.fromMs + Math.floor(random() * (w.toMs - w.fromMs)));
  }
  return times.map((timeMs, i): UsageEvent => {
    const user = pick(seedIds.users);
    const { provider, model } = pick(models);
    const promptTokens = Math.floor(random() * 5_000);
    const completionTokens = Math.floor(random() * 2_000);
    const status = random() < 0.05 ? 429 : 200;
    const tag = random();
    return {
      requestId: `req_${i}`,
      timeMs,
      orgId: user.orgId,
      teamId: user.teamId,
      userId: user.id,
      keyId: `key_${user.name}_${Math.floor(random() * 2)}`,
      provider,
      model,
      promptTokens,
      cachedTokens: Math.floor(promptTokens * random() * 0.5),
      completionTokens,
      reasoningTokens: Math.floor(completionTokens * random() * 0.3),
      costMicros: status === 200 ? Math.floor(random() * 90_000) : 0,
      status,
      errorCode: status === 200 ? null : 'rate_limited',
      stream: random() < 0.5,
      latencyMs: 50 + Math.floor(random() * 3_000),
      ttfbMs: null,
      estimated: random() < 0.1,
      unmetered: false,
      sessionId: null,
      // Commas and a formula-like value reach the CSV export.
      tags: tag < 0.4 ? { project: 'apollo' } : tag < 0.7 ? { project: '=HYPERLINK("x"), gemini' } : {},
    };
  });
}

export async function seedUsage(db: Db, count = 3_000): Promise<UsageEvent[]> {
  for (const id of seedIds.orgs) await db.execute(sql`insert into orgs (id, name) values (${id}, ${id.replace('org_', '')})`);
  for (const t of seedIds.teams) await db.execute(sql`insert into teams (id, org_id, parent_id, name) values (${t.id}, ${t.orgId}, ${t.parentId}, ${t.name})`);
  for (const u of seedIds.users) {
    await db.execute(sql`insert into users (id, org_id, team_id, name) values (${u.id}, ${u.orgId}, ${u.teamId}, ${u.name})`);
    for (const n of [0, 1]) {
      // One key name looks like a spreadsheet formula, for the CSV report's guard.
      const name = u.name === 'olga' && n === 1 ? '=HYPERLINK("http://example.com","olga")' : `${u.name} key ${n}`;
      await db.execute(sql`insert into api_keys (id, org_id, user_id, name, hash, prefix) values (${`key_${u.name}_${n}`}, ${u.orgId}, ${u.id}, ${name}, ${`hash_${u.name}_${n}`}, 'tg-xxxx')`);
    }
  }
  // Budgets of every scope kind, so reports have used, limit and forecast to show.
  const budgets = [
    ['bud_org', 'org_a', 'org', 'org_a', 'costMicros', 'month', 50_000_000],
    ['bud_research', 'org_a', 'team', 'team_research', 'tokens', 'month', 2_000_000],
    ['bud_dev', 'org_a', 'user', 'usr_dev', 'costMicros', 'day', 2_000_000],
    ['bud_sales', 'org_a', 'team', 'team_sales', 'requests', 'month', 10_000],
  ] as const;
  for (const [id, orgId, scope, scopeId, metric, window, limit] of budgets) {
    await db.execute(sql`insert into budgets (id, org_id, scope, scope_id, metric, "window", "limit") values (${id}, ${orgId}, ${scope}, ${scopeId}, ${metric}, ${window}, ${limit})`);
  }
  const events = seedEvents(count);
  // Batches of a few hundred, as the flusher writes them: rollup rows are added to, not just created.
  for (let i = 0; i < events.length; i += 250) await writeUsageEvents(db, events.slice(i, i + 250));
  return events;
}
