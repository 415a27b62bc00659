// Zod pieces shared by the admin routes: ids, names, pagination and query-string coercions.
import { z } from 'zod';
import { roles } from '../control/actor.js';
import { controlCharacters, handlePattern } from '../control/names.js';
import { endpointFamilies } from '../server/families.js';

const noControl = [(v: string) => !controlCharacters.test(v), 'must not contain control characters'] as const;

export const id = z.string().min(1).max(200);
export const name = z.string().trim().min(1).max(200).refine(...noControl).regex(handlePattern, 'must not contain commas or leading/trailing spaces');
// Free-text labels (key and admin key names): spaces and punctuation allowed, control characters not.
export const label = z.string().trim().max(200).refine(...noControl);
export const role = z.enum(roles);
export const limit = z.coerce.number().int().min(1).max(1000).default(100);
// Query strings carry text: 'true' / 'false' (anything else is refused).
export const queryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
export const isoDate = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
export const metadata = z.record(z.string().max(200), z.string().max(2000));
// A key scope names an endpoint family of the gateway's route table; no scopes: every family.
export const keyScope = z.enum(endpointFamilies);
export const models = z.array(z.string().min(1).max(200)).max(500);

export const keyPolicy = z
  .object({
    allowedModels: models.nullable().default(null),
    maxLifetimeDays: z.number().int().min(1).max(3_650).nullable().default(null),
    scopes: z.array(keyScope).max(50).nullable().default(null),
  })
  .strict();

// A PATCH body: an empty one changes nothing and is refused rather than written as a no-op.
export const patchBody = <S extends z.ZodRawShape>(shape: S) =>
  z.object(shape).refine((b) => Object.values(b).some((v) => v !== undefined), { message: `must change at least one of ${Object.keys(shape).join(', ')}` });
