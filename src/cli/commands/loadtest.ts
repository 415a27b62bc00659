// `tollgate loadtest`: offered load against a running gateway, for sizing replicas. Reports the
// achieved rate, latency percentiles, errors by status and code, and the gateway's own time
// before forwarding (x-tollgate-overhead-ms), or with --sweep the highest rate that held.
import type { LoadRun } from '../../loadtest/generate.js';
import { runLoad } from '../../loadtest/generate.js';
import type { LoadSummary, Percentiles } from '../../loadtest/recorder.js';
import { sweep, type SweepStep } from '../../loadtest/sweep.js';
import type { Command } from '../command.js';
import { table } from '../output.js';
import { UsageError } from './keys.js';

function positive(values: Record<string, string | boolean | undefined>, flag: string, fallback?: number): number | undefined {
  const text = values[flag];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (typeof text !== 'string' || !Number.isFinite(value) || value <= 0) throw new UsageError(`--${flag} must be a positive number`);
  return value;
}

function targetUrl(text: unknown): URL {
  try {
    const url = new URL(String(text));
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // Falls through to the same message.
  }
  throw new UsageError('--target must be the gateway\'s http(s) URL, e.g. http://127.0.0.1:8080');
}

const line = (p: Percentiles) => `p50 ${p.p50}  p90 ${p.p90}  p99 ${p.p99}  max ${p.max}`;

function describe(run: LoadRun, s: LoadSummary): string[] {
  const offered = run.rate ? `${run.rate} req/s offered (open loop)` : `${run.connections} connections (closed loop)`;
  return [
    `${offered} for ${run.durationS} s: achieved ${s.achievedRate} req/s over ${s.elapsedS} s`,
    `requests      ${s.sent} sent, ${s.answered} answered, ${s.ok} ok, ${s.sent - s.ok} failed, ${s.dropped} dropped (over --max-in-flight)`,
    `latency ms    ${line(s.latencyMs)}`,
    s.overheadMs ? `overhead ms   ${line(s.overheadMs)}  (x-tollgate-overhead-ms on ${s.overheadMs.answers} answers)` : 'overhead ms   - (no answer carried x-tollgate-overhead-ms)',
    ...s.errors.map((e) => `error         ${e.status ?? 'no answer'} ${e.code}: ${e.count}`),
  ];
}

const sweepColumns = ['rate', 'achievedRate', 'p50', 'p99', 'max', 'errorRate', 'overheadP99', 'broke'];
const sweepRow = (s: SweepStep) => ({ rate: s.rate, achievedRate: s.achievedRate, p50: s.latencyMs.p50, p99: s.latencyMs.p99, max: s.latencyMs.max, errorRate: s.errorRate, overheadP99: s.overheadMs?.p99, broke: s.broke ?? 'held' });

export const loadtest: Command = {
  name: 'loadtest',
  summary: 'Load a gateway: --target URL --key KEY, --rate R (open loop) or --connections C, [--duration S --stream --model M --sweep --json].',
  options: {
    target: { type: 'string' },
    key: { type: 'string' },
    rate: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    stream: { type: 'boolean' },
    model: { type: 'string', default: 'gpt-4o-mini' },
    'max-in-flight': { type: 'string' },
    timeout: { type: 'string' },
    sweep: { type: 'boolean' },
    step: { type: 'string' },
    'max-rate': { type: 'string' },
    'max-p99-ms': { type: 'string' },
    'max-error-rate': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, out }) {
    const key = values.key;
    if (typeof key !== 'string' || key === '') throw new UsageError('loadtest needs --key KEY (a gateway API key)');
    const rate = positive(values, 'rate');
    const connections = positive(values, 'connections');
    if ((rate === undefined) === (connections === undefined)) throw new UsageError('give one of --rate R (requests per second) and --connections C');
    if (connections !== undefined && !Number.isInteger(connections)) throw new UsageError('--connections must be a whole number');
    if (values.sweep && rate === undefined) throw new UsageError('--sweep steps the rate up from --rate R');
    const run: LoadRun = {
      target: targetUrl(values.target),
      key,
      model: String(values.model),
      stream: values.stream === true,
      durationS: positive(values, 'duration', 10)!,
      rate,
      connections,
      maxInFlight: Math.ceil(positive(values, 'max-in-flight', 512)!),
      timeoutMs: positive(values, 'timeout', 30)! * 1000,
    };

    if (!values.sweep) {
      const summary = await runLoad(run);
      if (values.json) out(JSON.stringify({ target: run.target.href, rate: rate ?? null, connections: connections ?? null, durationS: run.durationS, stream: run.stream, ...summary }));
      else describe(run, summary).forEach((l) => out(l));
      return;
    }
    const maxErrorRate = positive(values, 'max-error-rate', 0.01)!;
    if (maxErrorRate >= 1) throw new UsageError('--max-error-rate is a fraction, e.g. 0.01 for 1%');
    const bounds = { maxP99Ms: positive(values, 'max-p99-ms', 1000)!, maxErrorRate, step: positive(values, 'step', rate)!, maxRate: positive(values, 'max-rate', rate! * 20)! };
    const result = await sweep({ ...run, rate: rate! }, bounds, (step) => {
      if (!values.json) out(`rate ${step.rate}: achieved ${step.achievedRate} req/s, p99 ${step.latencyMs.p99} ms, errors ${step.errorRate * 100}%${step.broke ? `, broke ${step.broke}` : ''}`);
    });
    if (values.json) {
      out(JSON.stringify({ target: run.target.href, bounds, ...result }));
      return;
    }
    out('');
    out(table(result.steps.map(sweepRow), sweepColumns));
    out(result.sustainedRate === null ? 'no step held: start lower (--rate)' : `sustained ${result.sustainedRate} req/s within p99 ${bounds.maxP99Ms} ms and ${bounds.maxErrorRate * 100}% errors`);
  },
};
