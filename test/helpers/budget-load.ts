// Load for budget tests on a deployment whose Redis goes away: requests in a session of their own
// (so one key can run several exact-limit checks), answered as '200' or '<status> <error.code>'
// with their timing, and the ledger's count to compare with what was served.
import pg from 'pg';
import { request } from 'undici';

export interface Outcome {
  // e.g. '200', '429 budget_exceeded', '503 budget_unavailable'
  result: string;
  startedAtMs: number;
  durationMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function sendInSession(url: string, key: string, session: string): Promise<Outcome> {
  const startedAtMs = performance.now();
  const res = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-session-id': session },
    body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = (await res.body.json()) as { error?: { code?: string } };
  const result = res.statusCode === 200 ? '200' : `${res.statusCode} ${body.error?.code}`;
  return { result, startedAtMs, durationMs: performance.now() - startedAtMs };
}

// One request at a time, every intervalMs, over the gateways in turn, until the session's budget
// has refused `refusals` requests or deadlineMs (performance.now()) has passed. A request that
// gets no answer at all ends the run as an 'error …' outcome (a gateway died, or the test failed
// and stopped them), so a failing test leaves no loop behind.
export async function driveUntilRefused(
  gatewayUrls: readonly string[],
  key: string,
  session: string,
  options: { intervalMs: number; deadlineMs: number; refusals?: number },
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const refused = () => outcomes.filter((o) => o.result === '429 budget_exceeded').length;
  for (let i = 0; refused() < (options.refusals ?? 3) && performance.now() < options.deadlineMs; i++) {
    const startedAtMs = performance.now();
    try {
      outcomes.push(await sendInSession(gatewayUrls[i % gatewayUrls.length]!, key, session));
    } catch (err) {
      outcomes.push({ result: `error ${(err as Error).message}`, startedAtMs, durationMs: performance.now() - startedAtMs });
      break;
    }
    await sleep(options.intervalMs);
  }
  return outcomes;
}

export const tally = (outcomes: readonly Outcome[]): Record<string, number> =>
  outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o.result]: (t[o.result] ?? 0) + 1 }), {});

export async function readiness(url: string): Promise<{ status: number; state: string }> {
  const res = await request(`${url}/ready`);
  return { status: res.statusCode, state: ((await res.body.json()) as { status: string }).status };
}

// Usage events the ledger holds for this org and session.
export async function ledgerCount(databaseUrl: string, orgId: string, session: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('select count(*)::int as n from usage_events where org_id = $1 and session_id = $2', [orgId, session]);
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}
