// pino JSON logs; credentials are redacted wherever they might appear.
import { pino, type Logger } from 'pino';

// Asynchronous writes: a log line per request must not cost a write(2) on the request path.
// flush() on shutdown (serve does it) writes out what is still buffered.
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      redact: {
        paths: ['authorization', 'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]', 'apiKey', 'key'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
