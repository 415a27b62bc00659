// The bounded worker pool that counts large prompts off the event loop. When every thread is busy
// and the queue is full it refuses at once with tokenizer_overloaded (503) instead of letting
// memory grow with the backlog. Each task is time-boxed from submission, so no input can hold a
// thread (or the requests queued behind it) past the box, and closing waits for no task longer
// than closeTimeoutMs.
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { GatewayError } from '../errors/catalogue.js';
import type { TokenizeTask } from '../../workers/tokenize.js';
import type { TextEncoding } from './encoders.js';

export interface TokenizerPoolOptions {
  readonly maxThreads: number;
  // Tasks allowed to wait for a thread; one more is refused.
  readonly maxQueue: number;
  // A task not answered within this many ms (queue wait included) is ended: its worker is
  // replaced and the caller gets TokenizerTimeoutError, to charge a safe upper bound instead.
  readonly taskTimeoutMs?: number;
  // close() ends tasks still running after this many ms instead of waiting for them.
  readonly closeTimeoutMs?: number;
}

// linear-merge.ts keeps the worst input near 1 µs per byte, so a 10 MB body counts well inside
// this even on a loaded machine; past it something is wrong, and the request should not wait.
export const defaultTaskTimeoutMs = 5_000;
const defaultCloseTimeoutMs = 1_000;

export interface TokenizerPool {
  countTexts(texts: readonly string[], encoding: TextEncoding): Promise<number>;
  // Tasks waiting for a thread, for the pool-queue metric.
  readonly queued: number;
  close(): Promise<void>;
}

export class TokenizerOverloadedError extends GatewayError {
  override name = 'TokenizerOverloadedError';
  constructor() {
    super('tokenizer_overloaded');
  }
}

// Not a GatewayError: the counter answers a timed-out count with an upper bound, never with an error.
export class TokenizerTimeoutError extends Error {
  override name = 'TokenizerTimeoutError';
}

// The worker is a .ts file when the gateway runs from source. Module hooks registered in the main
// thread do not reach worker threads, so the worker loads bin/typescript.js itself.
function workerSource(): { filename: string; execArgv: string[] | undefined } {
  const ext = extname(fileURLToPath(import.meta.url));
  const filename = fileURLToPath(new URL(`../../workers/tokenize${ext}`, import.meta.url));
  if (ext !== '.ts') return { filename, execArgv: undefined };
  const loader = new URL('../../bin/typescript.js', import.meta.url).href;
  const cwd = pathToFileURL(`${process.cwd()}/`);
  if (process.execArgv.some((arg) => new URL(arg, cwd).href === loader)) return { filename, execArgv: undefined };
  return { filename, execArgv: [...process.execArgv, '--import', loader] };
}

function validate(options: TokenizerPoolOptions): void {
  const bounds = [
    ['maxThreads', options.maxThreads, 1],
    ['maxQueue', options.maxQueue, 0],
    ['taskTimeoutMs', options.taskTimeoutMs ?? defaultTaskTimeoutMs, 1],
    ['closeTimeoutMs', options.closeTimeoutMs ?? defaultCloseTimeoutMs, 0],
  ] as const;
  for (const [key, value, min] of bounds) {
    if (!Number.isInteger(value) || value < min) throw new TypeError(`tokenizer pool ${key} must be an integer >= ${min}, got ${value}`);
  }
}

export function createTokenizerPool(options: TokenizerPoolOptions): TokenizerPool {
  validate(options);
  const { maxThreads, maxQueue, taskTimeoutMs = defaultTaskTimeoutMs, closeTimeoutMs = defaultCloseTimeoutMs } = options;
  const { filename, execArgv } = workerSource();
  const piscina = new Piscina<TokenizeTask, number>({
    filename,
    ...(execArgv ? { execArgv } : {}),
    // Threads stay up so the encoders they loaded stay warm; a burst never pays a cold start twice.
    minThreads: maxThreads,
    maxThreads,
    idleTimeout: Number.POSITIVE_INFINITY,
    // Piscina's own bound is checked against a queue that also counts capacity on threads still
    // starting; the in-flight count below is the exact bound, Piscina's stays as a backstop.
    maxQueue: Math.max(1, maxQueue),
    closeTimeout: closeTimeoutMs,
  });
  let inFlight = 0;
  return {
    async countTexts(texts, encoding) {
      if (inFlight >= maxThreads + maxQueue) throw new TokenizerOverloadedError();
      inFlight += 1;
      try {
        // Aborting a running task terminates its worker; minThreads starts a fresh one.
        return await piscina.run({ texts, encoding }, { signal: AbortSignal.timeout(taskTimeoutMs) });
      } catch (err) {
        if (err instanceof Error && err.message === 'Task queue is at limit') throw new TokenizerOverloadedError();
        if (err instanceof Error && err.name === 'AbortError') throw new TokenizerTimeoutError(`token count took over ${taskTimeoutMs} ms`);
        throw err;
      } finally {
        inFlight -= 1;
      }
    },
    get queued() {
      return piscina.queueSize;
    },
    // force drops queued tasks at once; running ones get closeTimeoutMs before their workers end.
    // Piscina reports the deadline passing as an error after it has ended the workers: for a close
    // that is the expected way to finish, not a failure.
    close: () =>
      piscina.close({ force: true }).catch((err: unknown) => {
        if (!(err instanceof Error && err.message === 'Close operation timed out')) throw err;
      }),
  };
}
