// Every `tollgate` command, in the order `tollgate --help` lists them. The dispatcher and the
// help test both walk this list, so a command added here gets `--help` and flag checks for free.
import type { Command } from './command.js';
import { keysCreate, keysRevoke } from './commands/keys.js';
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
import { usersActivate, usersCreate, usersDeactivate, usersImport, usersKeyPolicy, usersList, usersUpdate } from './commands/users.js';

export const commands: readonly Command[] = [
  serve, migrate, adminBootstrap,
  usersList, usersCreate, usersUpdate, usersDeactivate, usersActivate, usersImport, usersKeyPolicy,
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
