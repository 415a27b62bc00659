// The dashboard's loop: a snapshot every refresh (never two at once; a slow gateway just makes the
// next one later), painted with renderDashboard, and the panel keys applied at once. Resolves when
// the user quits; the screen is given back by then.
import type { Collector } from './collect.js';
import { keyAction, type Panel } from './panels.js';
import { type DashboardView, renderDashboard } from './render.js';
import type { Screen } from './terminal.js';

export interface RunOptions {
  readonly refreshMs: number;
  readonly panel?: Panel;
}

// A chunk of raw input is several keys when typed fast; an escape sequence is one key.
const keysOf = (chunk: string): string[] => (chunk.startsWith('\u001b') ? [chunk] : [...chunk]);

export function runDashboard(collector: Collector, screen: Screen, options: RunOptions): Promise<void> {
  let view: DashboardView = { snapshot: null, panel: options.panel ?? 'overview', error: null };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const paint = () => screen.paint(renderDashboard(view, screen.size()));

  return new Promise((resolve) => {
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      screen.close();
      resolve();
    };
    const refresh = async () => {
      try {
        view = { ...view, snapshot: await collector.snapshot(Date.now()), error: null };
      } catch (err) {
        view = { ...view, error: `refresh failed: ${(err as Error).message}` };
      }
      if (stopped) return;
      paint();
      timer = setTimeout(refresh, options.refreshMs);
    };
    screen.onKey((chunk) => {
      for (const key of keysOf(chunk)) {
        const action = keyAction(key, view.panel);
        if (action === 'quit') return stop();
        if (action) {
          view = { ...view, panel: action.panel };
          paint();
        }
      }
    });
    screen.onResize(paint);
    paint();
    void refresh();
  });
}
