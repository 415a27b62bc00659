// Pacing for the flush loops: an abortable sleep, and a jittered exponential backoff so replicas
// that all lost Postgres at once do not all retry in the same instant.
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createBackoff(maxMs: number, baseMs = 100): { next(): number } {
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, baseMs * 2 ** attempt++);
      return ceiling / 2 + Math.random() * (ceiling / 2);
    },
  };
}

// Runs fn every intervalMs, never overlapping itself; stop() waits for a run in progress.
// fn handles its own errors: a rejection here would be unhandled.
export function every(intervalMs: number, fn: () => Promise<void>): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout;
  const schedule = () => {
    timer = setTimeout(() => {
      running = fn().finally(() => {
        if (!stopped) schedule();
      });
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
