// The dashboard's panels and the keys that move between them: 1-4 pick one, tab and shift-tab
// cycle, q (or ctrl-c, which raw mode delivers as a key) quits.
export const panels = ['overview', 'budgets', 'users', 'alerts'] as const;
export type Panel = (typeof panels)[number];

export const panelTitles: Readonly<Record<Panel, string>> = { overview: 'Overview', budgets: 'Budgets', users: 'Top users', alerts: 'Alerts' };

export type KeyAction = { readonly panel: Panel } | 'quit' | undefined;

export function keyAction(key: string, current: Panel): KeyAction {
  if (key === 'q' || key === 'Q' || key === '\u0003') return 'quit';
  const index = panels.indexOf(current);
  if (key === '\t') return { panel: panels[(index + 1) % panels.length]! };
  if (key === '\u001b[Z') return { panel: panels[(index + panels.length - 1) % panels.length]! };
  const picked = panels[Number(key) - 1];
  return /^[1-9]$/.test(key) && picked ? { panel: picked } : undefined;
}
