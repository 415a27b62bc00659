// Keeps this replica's budget rules current: the config's rules with the control plane's rows
// over them, loaded at start, reloaded on every `budgets` invalidation (published after each
// admin change) and periodically as a backstop. Open reservations keep the buckets they debited.
import type { Logger } from 'pino';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { BudgetConfig } from '../budget/rules.js';
import { loadBudgetRules } from '../control/budgets.js';
import { type ReloadWatch, watchReloads } from '../control/reload-watch.js';
import type { Db } from '../db/database.js';
import type { Budgets } from './budgets.js';

type Rules = Pick<BudgetConfig, 'budgets' | 'limits'>;

// Control-plane rows carry their org and the config's rules none; the compiled plan decides which
// applies (an org's row replaces the config rule of the same shape for that org only). Rows come
// first so that they also win over a config rule written for the same org.
export const mergeRules = (fromConfig: Rules, fromDb: Rules): Rules => ({
  budgets: [...fromDb.budgets, ...fromConfig.budgets],
  limits: [...fromDb.limits, ...fromConfig.limits],
});

export type BudgetRulesWatch = ReloadWatch;

export async function watchBudgetRules(options: { db: Db; bus: InvalidationBus; budgets: Budgets; fromConfig: Rules; refreshMs: number; logger: Logger }): Promise<BudgetRulesWatch> {
  const { db, bus, budgets, fromConfig, refreshMs, logger } = options;
  return watchReloads({ load: async () => budgets.setRules(mergeRules(fromConfig, await loadBudgetRules(db))), bus, refreshMs, logger, what: 'budget rules' });
}
