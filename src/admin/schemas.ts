// Zod pieces shared by the admin routes: ids, pagination and query-string coercions.
import { z } from 'zod';
import { roles } from '../control/actor.js';

export const id = z.string().min(1).max(200);
export const name = z.string().trim().min(1).max(200).regex(/^[^\s,]+( [^\s,]+)*$/, 'must not contain commas or leading/trailing spaces');
export const role = z.enum(roles);
export const limit = z.coerce.number().int().min(1).max(1000).default(100);
// Query strings carry text: 'true' / 'false' (anything else is refused).
export const queryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
export const isoDate = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
export const metadata = z.record(z.string().max(200), z.string().max(2000));
