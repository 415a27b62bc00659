// pino JSON logs; credentials are redacted wherever they might appear.
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tollgate' },
    redact: {
      paths: ['authorization', 'headers.authorization', 'headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-api-key"]', 'apiKey', 'key'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
