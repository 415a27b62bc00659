// pino JSON logs; credentials are redacted wherever they might appear.
import { pino, type DestinationStream, type Logger } from 'pino';

// Log lines are buffered and written in blocks (a write per request line cost a third of the
// gateway's throughput in bench/proxy.ts), and flushed at least every flushMs so they stay
// timely. flush() on shutdown (serve does it) writes out the rest.
const blockChars = 8 * 1024;
const flushMs = 200;

type SonicBoom = ReturnType<typeof pino.destination>;

// sonic-boom writes out what it holds at exit; these write out what the block writers still hold.
const unwrittenAtExit = new Set<() => void>();
process.once('exit', () => {
  for (const write of unwrittenAtExit) {
    try {
      write();
    } catch {
      // Destroyed or not open: nothing more can be written.
    }
  }
});

// Lines are joined here and handed to sonic-boom a block at a time: sonic-boom measures the
// UTF-8 length of its whole pending buffer on every write, so a line written to it one at a time
// costs as much as the block it joins (bench/cpu.ts). Holds at most one block.
function blockWriter(destination: SonicBoom): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  let lines: string[] = [];
  let chars = 0;
  const pass = () => {
    if (lines.length === 0) return;
    const block = lines.join('');
    lines = [];
    chars = 0;
    destination.write(block);
  };
  unwrittenAtExit.add(() => {
    pass();
    destination.flushSync();
  });
  return {
    write(line: string) {
      lines.push(line);
      chars += line.length;
      if (chars >= blockChars) pass();
    },
    flush(cb) {
      pass();
      destination.flush(cb);
    },
  };
}

export function createLogger(level: string): Logger {
  const destination = blockWriter(pino.destination({ dest: 1, sync: false }));
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
