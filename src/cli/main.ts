// `tollgate <command> [flags]`: finds the longest command name matching the arguments, parses
// its flags, and maps failures to exit codes (2 for usage, 1 otherwise).
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import type { Command } from './command.js';
import { keysCreate, keysRevoke, UsageError } from './commands/keys.js';
import { migrate } from './commands/migrate.js';
import { loadtest } from './commands/loadtest.js';
import { serve } from './commands/serve.js';
import { adminBootstrap } from './commands/admin.js';
import { alertRulesList, alertRulesReset, alertRulesSet } from './commands/alert-rules.js';
import { alertsAck, alertsHistory, alertsList, alertsResolve, channelsAdd, channelsList, channelsRemove, channelsRoute, channelsRoutes, channelsTest } from './commands/alerts.js';
import { analytics } from './commands/analytics.js';
import { auditExport, auditList } from './commands/audit.js';
import { budgetsApplyTemplate, budgetsList, budgetsSet, templatesList } from './commands/budgets.js';
import { catalogImport, catalogList, catalogShow } from './commands/catalog.js';
import { dashboard } from './commands/dashboard.js';
import { keysList, keysRotate } from './commands/keys-manage.js';
import { quotaApprove, quotaDeny, quotaList, quotaRequest } from './commands/quota.js';
import { orgsCreate, orgsList } from './commands/orgs.js';
import { teamsCreate, teamsList } from './commands/teams.js';
import { report } from './commands/report.js';
import { system } from './commands/system.js';
import { usage } from './commands/usage.js';
import { usersCreate, usersDeactivate, usersImport, usersKeyPolicy, usersList } from './commands/users.js';
import { ApiError } from './admin-client.js';

export const commands: readonly Command[] = [
  serve, migrate, adminBootstrap,
  usersList, usersCreate, usersDeactivate, usersImport, usersKeyPolicy,
  orgsList, orgsCreate,
  teamsList, teamsCreate,
  keysCreate, keysRevoke, keysList, keysRotate,
  budgetsSet, budgetsList, budgetsApplyTemplate, templatesList,
  quotaList, quotaRequest, quotaApprove, quotaDeny,
  auditList, auditExport,
  alertsList, alertsHistory, alertsAck, alertsResolve,
  channelsAdd, channelsList, channelsTest, channelsRemove, channelsRoute, channelsRoutes,
  alertRulesList, alertRulesSet, alertRulesReset,
  usage, report,
  analytics,
  dashboard, system,
  loadtest,
  catalogImport, catalogList, catalogShow,
];

function help(): string {
  return ['usage: tollgate <command> [flags]', '', ...commands.map((c) => `  ${c.name.padEnd(24)} ${c.summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const command = [...commands].sort((a, b) => b.name.length - a.name.length).find((c) => c.name.split(' ').every((word, i) => argv[i] === word));
  if (!command) {
    process.stderr.write(`${help()}\n`);
    return argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' ? 0 : 2;
  }
  try {
    const { values, positionals } = parseArgs({ args: argv.slice(command.name.split(' ').length), options: command.options, allowPositionals: true, strict: true });
    const code = await command.run({ values: values as Record<string, string | boolean | undefined>, positionals, out: (line) => process.stdout.write(`${line}\n`) });
    return code ?? 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`tollgate ${command.name}: ${e.message}\n`);
    if (err instanceof ApiError && err.status === 400) return 2;
    return err instanceof UsageError || err instanceof ConfigError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
