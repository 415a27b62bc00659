// Validates a request body against a zod schema; the first problem becomes a 400 that names the field.
import type { z } from 'zod';
import { GatewayError } from '../errors/catalogue.js';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
  throw new GatewayError('invalid_request', `${param || 'body'}: ${issue.message}`, param || null);
}
