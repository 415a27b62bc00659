// Alert rule settings the admin API changes at run time. Each rule's settings are the config file's
// `alertRules` section of the same name with the stored overrides laid over it, field by field;
// removing the overrides returns the rule to config. The override schemas are made from the config
// schemas (rules-config.ts), so a field is validated the same way wherever it is set.
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { z } from 'zod';
import { alertRuleSettings } from '../../drizzle/schema/alert-rule-settings.js';
import { recordAudit } from '../control/audit.js';
import type { ChangeContext } from '../control/actor.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import { analyticsRuleSchema, healthRuleSchema, type AlertRulesConfig } from './rules-config.js';

const ruleSchemas = { health: healthRuleSchema, analytics: analyticsRuleSchema } as const;
export type RuleName = keyof typeof ruleSchemas;
export const ruleNames = Object.keys(ruleSchemas) as RuleName[];
export type RuleSettings = { [N in RuleName]: AlertRulesConfig[N] };
export const ruleFields = Object.fromEntries(ruleNames.map((n) => [n, Object.keys(ruleSchemas[n].shape)])) as Record<RuleName, string[]>;

// Each field as config validates it, without its default: an override names only what it changes.
const bare = (field: z.ZodType): z.ZodType => (field instanceof z.ZodDefault || field instanceof z.ZodOptional ? bare(field.unwrap() as z.ZodType) : field);
const overrideSchema = (schema: z.ZodObject) => z.strictObject(Object.fromEntries(Object.entries(schema.shape).map(([key, field]) => [key, bare(field as z.ZodType).optional()])));
export const overrideSchemas: { [N in RuleName]: z.ZodType<Partial<RuleSettings[N]>> } = {
  health: overrideSchema(healthRuleSchema) as z.ZodType<Partial<RuleSettings['health']>>,
  analytics: overrideSchema(analyticsRuleSchema) as z.ZodType<Partial<RuleSettings['analytics']>>,
};

export function ruleName(name: string): RuleName {
  if (!Object.hasOwn(ruleSchemas, name)) throw new GatewayError('not_found', `There is no alert rule "${name}"; the rules are ${ruleNames.join(', ')}.`);
  return name as RuleName;
}

type Overrides = Partial<Record<RuleName, Record<string, unknown>>>;

async function readOverrides(db: Db): Promise<Overrides> {
  const rows = await db.select().from(alertRuleSettings);
  const overrides: Overrides = {};
  for (const row of rows) {
    if (!Object.hasOwn(ruleSchemas, row.name)) continue;
    // A row written by an older release may name a field this one dropped: the rest still applies.
    const parsed = overrideSchemas[row.name as RuleName].safeParse(row.overrides);
    overrides[row.name as RuleName] = parsed.success ? (parsed.data as Record<string, unknown>) : {};
  }
  return overrides;
}

const effective = (config: AlertRulesConfig, overrides: Overrides): RuleSettings => ({
  health: { ...config.health, ...overrides.health },
  analytics: { ...config.analytics, ...overrides.analytics },
});

export interface RuleSettingsView {
  readonly name: RuleName;
  readonly settings: Record<string, unknown>;
  // Per field: where its value comes from.
  readonly sources: Record<string, 'config' | 'override'>;
  readonly updatedAt: Date | null;
  readonly updatedBy: string | null;
}

async function view(db: Db, config: AlertRulesConfig, name: RuleName): Promise<RuleSettingsView> {
  const [row] = await db.select().from(alertRuleSettings).where(eq(alertRuleSettings.name, name));
  const overrides = row ? (overrideSchemas[name].safeParse(row.overrides).data ?? {}) : {};
  const settings = { ...config[name], ...overrides } as Record<string, unknown>;
  const fields = ruleFields[name];
  return {
    name,
    settings: Object.fromEntries(fields.map((f) => [f, settings[f] ?? null])),
    sources: Object.fromEntries(fields.map((f) => [f, f in overrides ? 'override' : 'config'])),
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

export async function listRuleSettings(db: Db, config: AlertRulesConfig): Promise<RuleSettingsView[]> {
  return Promise.all(ruleNames.map((name) => view(db, config, name)));
}

const actorName = (change: ChangeContext) => change.actor.userId ?? `${change.actor.type}:${change.actor.id}`;

// Lays a validated partial update over the rule's stored overrides, audited in the same transaction.
export async function setRuleOverrides(db: Db, change: ChangeContext, config: AlertRulesConfig, name: RuleName, update: Record<string, unknown>): Promise<RuleSettingsView> {
  const before = await view(db, config, name);
  await db.transaction(async (tx) => {
    const [row] = await tx.select().from(alertRuleSettings).where(eq(alertRuleSettings.name, name)).for('update');
    const overrides = { ...(row?.overrides ?? {}), ...update };
    const values = { name, overrides, updatedAt: new Date(), updatedBy: actorName(change) };
    await tx.insert(alertRuleSettings).values(values).onConflictDoUpdate({ target: alertRuleSettings.name, set: values });
    await recordAudit(tx, change, { action: 'alert_rule.update', resourceType: 'alert_rule', resourceId: name, orgId: null, before: before.settings, after: { ...before.settings, ...update } });
  });
  return view(db, config, name);
}

export async function resetRuleOverrides(db: Db, change: ChangeContext, config: AlertRulesConfig, name: RuleName): Promise<RuleSettingsView> {
  const before = await view(db, config, name);
  await db.transaction(async (tx) => {
    await tx.delete(alertRuleSettings).where(eq(alertRuleSettings.name, name));
    await recordAudit(tx, change, { action: 'alert_rule.reset', resourceType: 'alert_rule', resourceId: name, orgId: null, before: before.settings, after: config[name] });
  });
  return view(db, config, name);
}

export interface RuleSettingsReader {
  // The settings as last read: config's until the first read succeeds.
  current(): RuleSettings;
  // Reads the stored overrides again; while the store does not answer, the last settings stand.
  refresh(): Promise<void>;
}

// A read waits at most waitMs: with Postgres away it may hang until the driver gives up, and the
// evaluation (which reports Postgres down) must not wait for it. One read is in flight at a time.
export function createRuleSettingsReader(db: Db, config: AlertRulesConfig, logger: Logger, waitMs = 1_000): RuleSettingsReader {
  let settings = effective(config, {});
  let reading: Promise<void> | undefined;
  return {
    current: () => settings,
    async refresh() {
      reading ??= readOverrides(db)
        .then(
          (overrides) => void (settings = effective(config, overrides)),
          (err: unknown) => logger.warn({ err: (err as Error).message }, 'alert rule settings not read; the last ones stand'),
        )
        .finally(() => (reading = undefined));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([reading, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    },
  };
}
