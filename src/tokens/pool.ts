// The bounded worker pool that counts large prompts off the event loop. When every thread is busy
// and the queue is full it refuses at once with tokenizer_overloaded (503) instead of letting
// memory grow with the backlog.
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
}

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
  for (const key of ['maxThreads', 'maxQueue'] as const) {
    const value = options[key];
    const min = key === 'maxThreads' ? 1 : 0;
    if (!Number.isInteger(value) || value < min) throw new TypeError(`tokenizer pool ${key} must be an integer >= ${min}, got ${value}`);
  }
}

export function createTokenizerPool(options: TokenizerPoolOptions): TokenizerPool {
  validate(options);
  const { maxThreads, maxQueue } = options;
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
  });
  let inFlight = 0;
  return {
    async countTexts(texts, encoding) {
      if (inFlight >= maxThreads + maxQueue) throw new TokenizerOverloadedError();
      inFlight += 1;
      try {
        return await piscina.run({ texts, encoding });
      } catch (err) {
        if (err instanceof Error && err.message === 'Task queue is at limit') throw new TokenizerOverloadedError();
        throw err;
      } finally {
        inFlight -= 1;
      }
    },
    get queued() {
      return piscina.queueSize;
    },
    close: () => piscina.close(),
  };
}
