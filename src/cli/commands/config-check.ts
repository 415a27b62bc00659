// `tollgate config check [FILE]`: the loader `serve` uses (same zod schema, catalog and
// environment overrides) run on a file without starting anything, so a deploy can refuse a bad
// config before it rolls a pod.
import { ConfigError, configFilePath, loadConfig } from '../../config/load.js';
import type { Command } from '../command.js';

export const configCheck: Command = {
  name: 'config check',
  summary: 'Validate a config file as serve would (default: TOLLGATE_CONFIG or config/tollgate.yaml) without starting; prints each problem with its path, exit 1 if any.',
  args: '[FILE]',
  options: { json: { type: 'boolean', default: false } },
  async run({ positionals, values, out }) {
    const env = positionals[0] ? { ...process.env, TOLLGATE_CONFIG: positionals[0] } : process.env;
    const file = configFilePath(env);
    try {
      const config = loadConfig({ env });
      const summary = { file, valid: true, providers: config.providers.size, models: config.catalog.list().length, budgets: config.budget.budgets.length, limits: config.budget.limits.length };
      out(values.json ? JSON.stringify(summary) : `${file}: ok (${summary.providers} providers, ${summary.models} models, ${summary.budgets} budget rules, ${summary.limits} limits)`);
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // The first line says which file failed; the rest, when there are any, are path: problem.
      const [head, ...problems] = err.message.split('\n');
      out(values.json ? JSON.stringify({ file, valid: false, errors: problems.length > 0 ? problems : [head] }) : err.message);
      return 1;
    }
  },
};
