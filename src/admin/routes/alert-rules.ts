// Alert rule settings: every reader lists each rule's effective thresholds and window with where
// each value comes from (config or override); only admins of the whole gateway change them, since
// the rules watch the whole fleet.
import { z } from 'zod';
import { listRuleSettings, overrideSchemas, resetRuleOverrides, ruleFields, ruleName, ruleNames, setRuleOverrides } from '../../alerts/rule-settings.js';
import { alertRulesSchema } from '../../alerts/rules-config.js';
import { GatewayError } from '../../errors/catalogue.js';
import type { Access } from '../access.js';
import { type AdminSettings, route } from '../route.js';
import { parseInput } from '../router.js';

const rulesConfig = (settings: AdminSettings) => settings.alertRules ?? alertRulesSchema.parse({});

async function assertGatewayWide(access: Access): Promise<void> {
  if ((await access.visibility('channels:write')).orgId !== null) throw new GatewayError('forbidden', 'Alert rules watch the whole gateway: only an admin of every org may change them.');
}

export const alertRuleRoutes = [
  route({
    method: 'GET', path: '/alert-rules', tag: 'alerts', summary: "Each alert rule's effective settings and, per field, whether config or an override sets it", permission: 'channels:read',
    async handle({ db, settings }) {
      return { data: await listRuleSettings(db, rulesConfig(settings)) };
    },
  }),
  route({
    method: 'PUT', path: '/alert-rules/:name', tag: 'alerts', summary: "Override some of a rule's settings (health: thresholds and window; analytics: interval); the evaluator uses them from its next run", permission: 'channels:write',
    // Checked against the named rule's own schema in the handler, so a bad field is named.
    body: z.record(z.string(), z.unknown()).describe(`Some settings of the rule. ${ruleNames.map((n) => `${n}: ${ruleFields[n].join(', ')}`).join('; ')}.`),
    async handle({ db, access, change, params, body, settings }) {
      await assertGatewayWide(access);
      const name = ruleName(params.name!);
      const update = parseInput(overrideSchemas[name], body, 'body') as Record<string, unknown>;
      if (Object.keys(update).length === 0) throw new GatewayError('invalid_request', `body: name at least one setting of ${name} to change.`);
      return setRuleOverrides(db, change, rulesConfig(settings), name, update);
    },
  }),
  route({
    method: 'DELETE', path: '/alert-rules/:name', tag: 'alerts', summary: "Drop a rule's overrides: its settings come from config again", permission: 'channels:write',
    async handle({ db, access, change, params, settings }) {
      await assertGatewayWide(access);
      return resetRuleOverrides(db, change, rulesConfig(settings), ruleName(params.name!));
    },
  }),
];
