// Keeps this replica's budget rules current: the config's rules with the control plane's rows
// over them, loaded at start, reloaded on every `budgets` invalidation (published after each
// admin change) and periodically as a backstop. Open reservations keep the buckets they debited.
import type { Logger } from 'pino';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { BudgetConfig, BudgetRule, LimitRule } from '../budget/rules.js';
import { loadBudgetRules } from '../control/budgets.js';
import type { Db } from '../db/database.js';
import type { Budgets } from './budgets.js';

type Rules = Pick<BudgetConfig, 'budgets' | 'limits'>;

const budgetIdentity = (r: BudgetRule): string => `${r.scope}\0${r.scopeId}\0${r.metric}\0${r.window}`;
const limitIdentity = (r: LimitRule): string => `${r.scope}\0${r.scopeId}`;

function overlay<T>(base: readonly T[], over: readonly T[], identity: (r: T) => string): T[] {
  const replaced = new Set(over.map(identity));
  return [...base.filter((r) => !replaced.has(identity(r))), ...over];
}

// A control-plane row replaces the config rule with the same scope, id, metric and window.
export const mergeRules = (fromConfig: Rules, fromDb: Rules): Rules => ({
  budgets: overlay(fromConfig.budgets, fromDb.budgets, budgetIdentity),
  limits: overlay(fromConfig.limits, fromDb.limits, limitIdentity),
});

export interface BudgetRulesWatch {
  // Resolves once the latest rules are in force in this process.
  reload(): Promise<void>;
  stop(): void;
}

export async function watchBudgetRules(options: { db: Db; bus: InvalidationBus; budgets: Budgets; fromConfig: Rules; refreshMs: number; logger: Logger }): Promise<BudgetRulesWatch> {
  const { db, bus, budgets, fromConfig, refreshMs, logger } = options;
  let queue: Promise<void> = Promise.resolve();
  const load = async () => budgets.setRules(mergeRules(fromConfig, await loadBudgetRules(db)));
  // Serialised so an older, slower load never overwrites a newer one.
  const reload = (): Promise<void> => {
    queue = queue.then(load).catch((err: unknown) => logger.error({ err }, 'budget rules reload failed; keeping the previous rules'));
    return queue;
  };
  await load();
  await bus.subscribe((message) => {
    if (message.kind === 'budgets' || message.kind === 'all') void reload();
  });
  const timer = setInterval(() => void reload(), refreshMs);
  timer.unref();
  return { reload, stop: () => clearInterval(timer) };
}
