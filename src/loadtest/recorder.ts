// What a load run measured: latency and the gateway's own overhead as bounded histograms (no
// per-request arrays, so a long run at a high rate holds constant memory), and answers counted
// by status and error code.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ErrorCount {
  // null when no answer came back (connection refused, reset, timeout).
  status: number | null;
  code: string;
  count: number;
}

export interface LoadSummary {
  sent: number;
  answered: number;
  ok: number;
  // Open loop only: sends skipped because --max-in-flight requests were already waiting.
  dropped: number;
  elapsedS: number;
  achievedRate: number;
  latencyMs: Percentiles;
  // From x-tollgate-overhead-ms; null when no answer carried it (the target is not a gateway).
  overheadMs: (Percentiles & { answers: number }) | null;
  errors: ErrorCount[];
}

// Histograms hold integers: microseconds keep two decimals of milliseconds.
const record = (h: RecordableHistogram, ms: number) => h.record(Math.max(1, Math.round(ms * 1000)));
const ms = (micros: number) => Math.round(micros / 10) / 100;
const percentiles = (h: RecordableHistogram): Percentiles =>
  h.count === 0 ? { p50: 0, p90: 0, p99: 0, max: 0 } : { p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max) };

export function createRecorder() {
  const latency = createHistogram();
  const overhead = createHistogram();
  const errors = new Map<string, ErrorCount>();
  let sent = 0;
  let ok = 0;
  let dropped = 0;

  return {
    sent: () => void sent++,
    dropped: () => void dropped++,
    answer(latencyMs: number, overheadHeader: string | undefined, failure?: { status: number | null; code: string }) {
      record(latency, latencyMs);
      const overheadMs = overheadHeader === undefined ? NaN : Number(overheadHeader);
      if (Number.isFinite(overheadMs)) record(overhead, overheadMs);
      if (!failure) {
        ok++;
        return;
      }
      const id = `${failure.status} ${failure.code}`;
      const seen = errors.get(id) ?? { ...failure, count: 0 };
      seen.count++;
      errors.set(id, seen);
    },
    summary(elapsedS: number): LoadSummary {
      const failed = [...errors.values()].reduce((n, e) => n + e.count, 0);
      return {
        sent,
        answered: ok + failed,
        ok,
        dropped,
        elapsedS: Math.round(elapsedS * 100) / 100,
        achievedRate: Math.round(((ok + failed) / elapsedS) * 10) / 10,
        latencyMs: percentiles(latency),
        overheadMs: overhead.count === 0 ? null : { ...percentiles(overhead), answers: overhead.count },
        errors: [...errors.values()].sort((a, b) => b.count - a.count),
      };
    },
  };
}

export type Recorder = ReturnType<typeof createRecorder>;
