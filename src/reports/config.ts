// Options of scheduled report digests (config key `reports`): whether this replica sends them (on
// its own switch: digests need the outbox sender, not alert rules), how often it looks for a
// digest that is due, how long after a period's end it waits for late usage, and how long one
// replica may take to build a digest before another takes it over.
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const reportsSchema = z
  .object({
    digestsEnabled: z.boolean().default(true),
    digestIntervalMs: positiveInt.default(60_000),
    digestGraceMs: z.number().int().nonnegative().default(5 * 60_000),
    digestClaimMs: positiveInt.default(10 * 60_000),
  })
  .prefault({});

export type ReportsConfig = z.output<typeof reportsSchema>;
