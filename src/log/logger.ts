// pino JSON logs; credentials are redacted wherever they might appear.
import { pino, type Logger } from 'pino';

// Log lines are buffered and written in blocks (a write per request line cost a third of the
// gateway's throughput in bench/proxy.ts), and flushed at least every flushMs so they stay
// timely. flush() on shutdown (serve does it) writes out the rest.
const bufferBytes = 8 * 1024;
const flushMs = 200;

export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: bufferBytes });
  setInterval(() => destination.flush(), flushMs).unref();
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      redact: {
        paths: ['authorization', 'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]', 'apiKey', 'key'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
