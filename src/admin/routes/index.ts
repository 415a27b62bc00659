// Every admin route, in the order the OpenAPI document lists them.
import type { Route } from '../route.js';
import { adminKeyRoutes } from './admin-keys.js';
import { alertChannelRoutes } from './alert-channels.js';
import { alertRuleRoutes } from './alert-rules.js';
import { alertRoutes } from './alerts.js';
import { analyticsRoutes } from './analytics.js';
import { auditRoutes } from './audit.js';
import { chargebackRoutes } from './chargeback.js';
import { budgetRoutes } from './budgets.js';
import { ipAllowListRoutes } from './ip-allow-lists.js';
import { keyRoutes } from './keys.js';
import { limitRoutes } from './limits.js';
import { orgRoutes } from './orgs.js';
import { privacyRoutes } from './privacy.js';
import { quotaRoutes } from './quota-requests.js';
import { reportRoutes } from './reports.js';
import { reportScheduleRoutes } from './report-schedules.js';
import { teamRoutes } from './teams.js';
import { templateRoutes } from './templates.js';
import { usageRoutes } from './usage.js';
import { userRoutes } from './users.js';

export const adminRoutes: readonly Route[] = [
  ...orgRoutes,
  ...teamRoutes,
  ...userRoutes,
  ...privacyRoutes,
  ...chargebackRoutes,
  ...keyRoutes,
  ...adminKeyRoutes,
  ...budgetRoutes,
  ...limitRoutes,
  ...ipAllowListRoutes,
  ...templateRoutes,
  ...quotaRoutes,
  ...auditRoutes,
  ...usageRoutes,
  ...reportRoutes,
  ...reportScheduleRoutes,
  ...analyticsRoutes,
  ...alertRoutes,
  ...alertChannelRoutes,
  ...alertRuleRoutes,
];
