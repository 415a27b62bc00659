// The full-screen terminal: the alternate screen buffer with the cursor hidden while the dashboard
// runs, raw keys from stdin, and the terminal given back exactly as found however the process
// ends: quit, SIGINT, SIGTERM, SIGHUP or a crash. The restore is written synchronously so it
// still happens inside an 'exit' handler.
import { writeSync } from 'node:fs';

const enter = '\u001b[?1049h\u001b[?25l\u001b[H\u001b[2J';
const leave = '\u001b[?25h\u001b[?1049l';

export interface Screen {
  readonly size: () => { width: number; height: number };
  // Replaces what is shown with these lines (already cut to the width).
  paint(lines: readonly string[]): void;
  onKey(listener: (key: string) => void): void;
  onResize(listener: () => void): void;
  // Gives the terminal back; safe to call more than once.
  close(): void;
}

const signalCodes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function openScreen(): Screen {
  const input = process.stdin;
  const output = process.stdout;
  let open = true;
  const restore = () => {
    if (!open) return;
    open = false;
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    writeSync(1, leave);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.exit(signalCodes[signal] ?? 1);
  };
  const onCrash = (err: unknown) => {
    restore();
    process.stderr.write(`tollgate dashboard: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };
  process.on('exit', restore);
  for (const signal of Object.keys(signalCodes) as NodeJS.Signals[]) process.on(signal, onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  writeSync(1, enter);
  if (input.isTTY) input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();

  return {
    size: () => ({ width: output.columns ?? 80, height: output.rows ?? 24 }),
    paint(lines) {
      if (!open) return;
      // Home, each line over the old one (clearing its rest), then clear below: no flicker.
      output.write(`\u001b[H${lines.map((l) => `${l}\u001b[K`).join('\r\n')}\u001b[J`);
    },
    onKey: (listener) => input.on('data', (chunk: string) => listener(chunk)),
    onResize: (listener) => output.on('resize', listener),
    close() {
      restore();
      process.off('exit', restore);
      for (const signal of Object.keys(signalCodes) as NodeJS.Signals[]) process.off(signal, onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    },
  };
}
