// Budget templates: named sets of rules applied to a user or a team in one transaction. The three
// built-ins live here in code (so they exist in every database without a seed step); custom ones
// are rows of budget_templates and may not reuse a built-in name.
import { asc, eq } from 'drizzle-orm';
import { budgetTemplates, type TemplateRule } from '../../drizzle/schema/index.js';
import type { InvalidationBus } from '../auth/invalidation.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChangeContext } from './actor.js';
import { recordAudit } from './audit.js';
import { type Budget, upsertBudgetIn } from './budgets.js';

export interface BudgetTemplate {
  name: string;
  description: string;
  rules: TemplateRule[];
  warnPct: number;
  criticalPct: number;
  builtin: boolean;
}

const tokens = (window: TemplateRule['window'], limit: number): TemplateRule => ({ metric: 'tokens', window, limit });

export const builtinTemplates: readonly BudgetTemplate[] = Object.freeze([
  { name: 'basic_user', description: 'Occasional use: 5,000 tokens a day, 150,000 a month, 500,000 in total.', rules: [tokens('day', 5_000), tokens('month', 150_000), tokens('total', 500_000)], warnPct: 80, criticalPct: 95, builtin: true },
  { name: 'power_user', description: 'Daily work: 20,000 tokens a day, 600,000 a month, 2,000,000 in total.', rules: [tokens('day', 20_000), tokens('month', 600_000), tokens('total', 2_000_000)], warnPct: 85, criticalPct: 95, builtin: true },
  { name: 'enterprise', description: 'Heavy use: 100,000 tokens a day, 3,000,000 a month, 10,000,000 in total.', rules: [tokens('day', 100_000), tokens('month', 3_000_000), tokens('total', 10_000_000)], warnPct: 90, criticalPct: 98, builtin: true },
]);

const isBuiltin = (name: string) => builtinTemplates.some((t) => t.name === name);

export async function listTemplates(db: Db): Promise<BudgetTemplate[]> {
  const custom = await db.select().from(budgetTemplates).orderBy(asc(budgetTemplates.name));
  return [...builtinTemplates, ...custom.map((t) => ({ name: t.name, description: t.description, rules: t.rules, warnPct: t.warnPct, criticalPct: t.criticalPct, builtin: false }))];
}

export async function getTemplate(db: Db, name: string): Promise<BudgetTemplate> {
  const found = (await listTemplates(db)).find((t) => t.name === name);
  if (!found) throw new GatewayError('not_found', `No budget template ${name}.`);
  return found;
}

export async function putTemplate(db: Db, change: ChangeContext, input: Omit<BudgetTemplate, 'builtin'>): Promise<BudgetTemplate> {
  if (isBuiltin(input.name)) throw new GatewayError('conflict', `${input.name} is a built-in template and cannot be changed.`);
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(budgetTemplates).where(eq(budgetTemplates.name, input.name));
    const values = { description: input.description, rules: input.rules, warnPct: input.warnPct, criticalPct: input.criticalPct };
    await tx
      .insert(budgetTemplates)
      .values({ name: input.name, ...values })
      .onConflictDoUpdate({ target: budgetTemplates.name, set: { ...values, updatedAt: new Date() } });
    const after = { ...input, builtin: false };
    await recordAudit(tx, change, { action: before ? 'template.update' : 'template.create', resourceType: 'template', resourceId: input.name, orgId: null, before: before ?? null, after });
    return after;
  });
}

export async function deleteTemplate(db: Db, change: ChangeContext, name: string): Promise<void> {
  if (isBuiltin(name)) throw new GatewayError('conflict', `${name} is a built-in template and cannot be deleted.`);
  const before = await getTemplate(db, name);
  await db.transaction(async (tx) => {
    await tx.delete(budgetTemplates).where(eq(budgetTemplates.name, name));
    await recordAudit(tx, change, { action: 'template.delete', resourceType: 'template', resourceId: name, orgId: null, before, after: null });
  });
}

// Upserts one budget per rule of the template on the scope; applying twice changes nothing.
export async function applyTemplate(
  db: Db,
  bus: InvalidationBus,
  change: ChangeContext,
  name: string,
  target: { scope: 'user' | 'team'; scopeId: string; orgId: string },
): Promise<Budget[]> {
  const template = await getTemplate(db, name);
  const rows = await db.transaction(async (tx) => {
    const rows: Budget[] = [];
    for (const rule of template.rules) {
      rows.push(await upsertBudgetIn(tx, change, target.orgId, { scope: target.scope, scopeId: target.scopeId, ...rule, warnPct: template.warnPct, criticalPct: template.criticalPct }));
    }
    return rows;
  });
  await bus.publish({ kind: 'budgets' });
  return rows;
}
