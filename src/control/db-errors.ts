// Postgres errors that are expected outcomes of a request (a name taken, a row still referenced),
// recognised through drizzle's wrapper on both node-postgres and PGlite.
import { GatewayError } from '../errors/catalogue.js';

function pgCode(err: unknown): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

// Runs a write; a unique or foreign-key violation becomes a 409 naming what clashed.
export async function conflictsAs<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const code = pgCode(err);
    if (code === '23505') throw new GatewayError('conflict', `${what} already exists.`);
    if (code === '23503') throw new GatewayError('conflict', `${what} refers to something that does not exist or is still in use.`);
    throw err;
  }
}
