// Drives chat completions at a gateway and records what came back. Two shapes:
// - open loop (--rate): requests leave on a fixed schedule whatever the answers do, and latency
//   is measured from when a request was due, so a slow gateway shows as latency instead of
//   quietly lowering the offered load (coordinated omission). At most maxInFlight wait at once;
//   a send due past that is counted as dropped, never queued.
// - closed loop (--connections): C connections each send the next request when the last answered.
// Built on an undici Pool rather than autocannon: autocannon's overallRate is closed loop per
// connection (a slow answer delays the next send), and each answer's headers and error body are
// needed here anyway.
import { Pool } from 'undici';
import { createRecorder, type LoadSummary, type Recorder } from './recorder.js';

export interface LoadRun {
  target: URL;
  key: string;
  model: string;
  stream: boolean;
  durationS: number;
  // Exactly one of rate (requests per second, open loop) and connections (closed loop).
  rate?: number | undefined;
  connections?: number | undefined;
  maxInFlight: number;
  timeoutMs: number;
}

const prompt = 'Reply with one short sentence.';
const maxTokens = 16;

// A failed answer's code: the provider-shaped body's error.code (OpenAI dialect), else its type.
function errorCode(text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: { code?: unknown; type?: unknown } }).error;
    return String(error?.code ?? error?.type ?? 'unknown');
  } catch {
    return 'non_json_body';
  }
}

export async function runLoad(run: LoadRun): Promise<LoadSummary> {
  const base = run.target.href.replace(/\/$/, '');
  const url = new URL(`${base}/v1/chat/completions`);
  const pool = new Pool(url.origin, { connections: run.rate ? run.maxInFlight : run.connections!, headersTimeout: run.timeoutMs, bodyTimeout: run.timeoutMs });
  const body = JSON.stringify({ model: run.model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, ...(run.stream ? { stream: true } : {}) });
  const headers = { authorization: `Bearer ${run.key}`, 'content-type': 'application/json' };
  const recorder = createRecorder();
  let inFlight = 0;

  const send = async (dueMs: number): Promise<void> => {
    inFlight++;
    recorder.sent();
    try {
      const res = await pool.request({ method: 'POST', path: url.pathname, headers, body });
      const overhead = res.headers['x-tollgate-overhead-ms'];
      const overheadHeader = Array.isArray(overhead) ? overhead[0] : overhead;
      if (res.statusCode < 400) {
        // Read to the end: a stream's latency is its last byte.
        for await (const _ of res.body);
        recorder.answer(performance.now() - dueMs, overheadHeader);
      } else {
        const code = errorCode(await res.body.text());
        recorder.answer(performance.now() - dueMs, overheadHeader, { status: res.statusCode, code });
      }
    } catch (err) {
      recorder.answer(performance.now() - dueMs, undefined, { status: null, code: (err as { code?: string }).code ?? 'network_error' });
    } finally {
      inFlight--;
    }
  };

  const startedMs = performance.now();
  try {
    await (run.rate ? openLoop(run.rate, run.durationS, run.maxInFlight, () => inFlight, send, recorder) : closedLoop(run.connections!, run.durationS, send));
    // Answers that come in after the schedule ended still count, and stretch the elapsed time.
    return recorder.summary(Math.max(run.durationS, (performance.now() - startedMs) / 1000));
  } finally {
    await pool.close();
  }
}

async function openLoop(rate: number, durationS: number, maxInFlight: number, inFlight: () => number, send: (dueMs: number) => Promise<void>, recorder: Recorder) {
  const total = Math.round(rate * durationS);
  const intervalMs = 1000 / rate;
  const startedMs = performance.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Timers fire late and coarse: send everything that has come due since the last tick.
    for (; i < total && startedMs + i * intervalMs <= now; i++) {
      if (inFlight() >= maxInFlight) {
        recorder.dropped();
        continue;
      }
      const sending = send(startedMs + i * intervalMs);
      pending.add(sending);
      void sending.finally(() => pending.delete(sending));
    }
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, startedMs + i * intervalMs - performance.now())));
  }
  await Promise.all(pending);
}

async function closedLoop(connections: number, durationS: number, send: (dueMs: number) => Promise<void>) {
  const endMs = performance.now() + durationS * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < endMs) await send(performance.now());
    }),
  );
}
