// Every `tollgate` command, in the order `tollgate --help` lists them. The dispatcher and the
// help test both walk this list, so a command added here gets `--help` and flag checks for free.
import type { Command } from './command.js';
import { keysCreate, keysRevoke } from './commands/keys.js';
import { migrate } from './commands/migrate.js';
import { loadtest } from './commands/loadtest.js';
import { serve } from './commands/serve.js';
import { adminBootstrap } from './commands/admin.js';
import { alertRulesList, alertRulesReset, alertRulesSet } from './commands/alert-rules.js';
import { alertsAck, alertsHistory, alertsList, alertsResolve, alertsShow, channelsAdd, channelsEnable, channelsList, channelsRemove, channelsRotateSecret, channelsRoute, channelsRoutes, channelsTest } from './commands/alerts.js';
import { analytics } from './commands/analytics.js';
import { teamsMetadata, usersExportMetadata, usersImportMetadata, usersMetadata } from './commands/chargeback.js';
import { digestsAdd, digestsList, digestsRemove, digestsSent } from './commands/digests.js';
import { status } from './commands/status.js';
import { auditExport, auditList } from './commands/audit.js';
import { adminKeysCreate, adminKeysList, adminKeysRevoke } from './commands/admin-keys.js';
import { budgetsApplyTemplate, budgetsDelete, budgetsList, budgetsSet, budgetsShow } from './commands/budgets.js';
import { configCheck } from './commands/config-check.js';
import { templatesCreate, templatesDelete, templatesList, templatesShow } from './commands/templates.js';
import { catalogImport, catalogList, catalogShow } from './commands/catalog.js';
import { dashboard } from './commands/dashboard.js';
import { keysList, keysRotate, keysShow, keysUpdate } from './commands/keys-manage.js';
import { ipAllowDelete, ipAllowList, ipAllowSet } from './commands/ip-allow.js';
import { limitsDelete, limitsList, limitsSet } from './commands/limits.js';
import { quotaApprove, quotaDeny, quotaList, quotaRequest, quotaShow } from './commands/quota.js';
import { orgsCreate, orgsList, orgsShow } from './commands/orgs.js';
import { teamsCreate, teamsList, teamsMembersAdd, teamsMembersList, teamsMembersRemove, teamsShow, teamsUpdate } from './commands/teams.js';
import { report } from './commands/report.js';
import { system } from './commands/system.js';
import { usage } from './commands/usage.js';
import { backup, restore } from './commands/backup.js';
import { usersErase, usersExport } from './commands/users-privacy.js';
import { usersActivate, usersCreate, usersDeactivate, usersImport, usersKeyPolicy, usersList, usersShow, usersUpdate } from './commands/users.js';

export const commands: readonly Command[] = [
  serve, migrate, configCheck,
  backup, restore,
  adminBootstrap, adminKeysList, adminKeysCreate, adminKeysRevoke,
  usersList, usersShow, usersCreate, usersUpdate, usersDeactivate, usersActivate, usersImport, usersKeyPolicy, usersExport, usersErase,
  usersMetadata, usersImportMetadata, usersExportMetadata,
  orgsList, orgsShow, orgsCreate,
  teamsList, teamsShow, teamsCreate, teamsUpdate, teamsMetadata, teamsMembersList, teamsMembersAdd, teamsMembersRemove,
  keysCreate, keysRevoke, keysList, keysShow, keysUpdate, keysRotate,
  budgetsSet, budgetsList, budgetsShow, budgetsDelete, budgetsApplyTemplate,
  templatesList, templatesShow, templatesCreate, templatesDelete,
  limitsList, limitsSet, limitsDelete,
  ipAllowList, ipAllowSet, ipAllowDelete,
  quotaList, quotaShow, quotaRequest, quotaApprove, quotaDeny,
  auditList, auditExport,
  alertsList, alertsShow, alertsHistory, alertsAck, alertsResolve,
  channelsAdd, channelsList, channelsTest, channelsEnable, channelsRotateSecret, channelsRemove, channelsRoute, channelsRoutes,
  alertRulesList, alertRulesSet, alertRulesReset,
  usage, status, report,
  digestsList, digestsAdd, digestsRemove, digestsSent,
  analytics,
  dashboard, system,
  loadtest,
  catalogImport, catalogList, catalogShow,
];
