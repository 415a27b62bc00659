// Prompt tokens of function/tool definitions, by the formula in OpenAI's cookbook ("How to count
// tokens with tiktoken", section 7), which matches the API's prompt_tokens for its examples.
import { z } from 'zod';
import type { Encoding } from '../config/catalog.js';
import { asText } from '../providers/provider.js';
import type { PlanBuilder } from './prompt-plan.js';

export const functionDefinitionSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type FunctionDefinition = z.output<typeof functionDefinitionSchema>;

interface ToolOverhead {
  readonly perFunction: number;
  readonly propertiesStart: number;
  readonly perProperty: number;
  readonly enumStart: number;
  readonly perEnumItem: number;
  readonly end: number;
}

// The cookbook measured 7 tokens per function for the o200k models and 10 for the cl100k ones.
const o200kOverhead: ToolOverhead = { perFunction: 7, propertiesStart: 3, perProperty: 3, enumStart: -3, perEnumItem: 3, end: 12 };
const cl100kOverhead: ToolOverhead = { ...o200kOverhead, perFunction: 10 };

type Schema = Record<string, unknown>;
const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);
const withoutFinalDot = (text: string): string => (text.endsWith('.') ? text.slice(0, -1) : text);
const typeName = (type: unknown): string => (Array.isArray(type) ? type.map(asText).join(' | ') : typeof type === 'string' ? type : '');

export function planFunctionTools(functions: readonly FunctionDefinition[], encoding: Encoding, plan: PlanBuilder): void {
  if (functions.length === 0) return;
  const overhead = encoding === 'o200k_base' ? o200kOverhead : cl100kOverhead;
  for (const fn of functions) {
    plan.fixed(overhead.perFunction);
    plan.text(`${fn.name}:${withoutFinalDot(fn.description ?? '')}`);
    const properties = isSchema(fn.parameters?.properties) ? fn.parameters.properties : {};
    const names = Object.keys(properties);
    if (names.length > 0) plan.fixed(overhead.propertiesStart);
    for (const name of names) {
      const property = isSchema(properties[name]) ? properties[name] : {};
      plan.fixed(overhead.perProperty);
      if (Array.isArray(property.enum)) {
        plan.fixed(overhead.enumStart);
        for (const item of property.enum) {
          plan.fixed(overhead.perEnumItem);
          plan.text(asText(item));
        }
      }
      const description = typeof property.description === 'string' ? property.description : '';
      plan.text(`${name}:${typeName(property.type)}:${withoutFinalDot(description)}`);
      // The cookbook formula stops at top-level properties; nested object and array schemas are
      // counted as their JSON, which is wordier than what the model sees, so the count errs high.
      const nested = property.properties ?? property.items;
      if (nested !== undefined) {
        plan.text(JSON.stringify(nested));
        plan.estimate();
      }
    }
  }
  plan.fixed(overhead.end);
}
