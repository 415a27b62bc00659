// The `tz` parameter every analytics entry point takes: an IANA zone Node knows (Postgres, which
// buckets the rows, refuses one it does not know on its own; src/analytics/query.ts says so).
import { z } from 'zod';

const knownZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

export const timeZoneSchema = z.string().max(64).default('UTC').refine(knownZone, 'must be an IANA time zone such as Europe/Berlin or Asia/Kolkata');
