// `loadtest --sweep`: open-loop steps of rising rate until one breaks a bound, to find the rate a
// single replica sustains. A step fails on p99 latency, on its error rate, or when the gateway
// answered clearly fewer requests per second than were offered (it is saturated).
import { runLoad, type LoadRun } from './generate.js';
import type { LoadSummary } from './recorder.js';

export interface SweepBounds {
  maxP99Ms: number;
  // Fraction of offered requests, 0..1.
  maxErrorRate: number;
  step: number;
  maxRate: number;
}

export interface SweepStep extends LoadSummary {
  rate: number;
  errorRate: number;
  // Why the step failed; null when it held.
  broke: 'p99' | 'errors' | 'saturated' | null;
}

// Below this share of the offered rate, the gateway is not keeping up.
const saturatedBelow = 0.9;

export function judge(rate: number, summary: LoadSummary, bounds: SweepBounds): SweepStep {
  // A dropped send (too many in flight) is a failure the gateway caused too.
  const offered = summary.sent + summary.dropped;
  const errorRate = offered === 0 ? 0 : Math.round(((offered - summary.ok) / offered) * 10_000) / 10_000;
  const broke = summary.latencyMs.p99 > bounds.maxP99Ms ? 'p99' : errorRate > bounds.maxErrorRate ? 'errors' : summary.achievedRate < rate * saturatedBelow ? 'saturated' : null;
  return { rate, ...summary, errorRate, broke };
}

export async function sweep(run: LoadRun & { rate: number }, bounds: SweepBounds, onStep: (step: SweepStep) => void): Promise<{ steps: SweepStep[]; sustainedRate: number | null }> {
  const steps: SweepStep[] = [];
  for (let rate = run.rate; rate <= bounds.maxRate; rate += bounds.step) {
    const step = judge(rate, await runLoad({ ...run, rate }), bounds);
    steps.push(step);
    onStep(step);
    if (step.broke) break;
  }
  const held = steps.filter((s) => !s.broke);
  return { steps, sustainedRate: held.length > 0 ? held[held.length - 1]!.rate : null };
}
