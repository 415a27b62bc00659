// Chargeback metadata in bulk: a CSV file of users' and teams' department, cost center and labels,
// imported row by row under the same checks as one PATCH each, and exported in the same columns
// (cells that look like formulas are neutralised by the CSV writer).
import { z } from 'zod';
import { exportChargebackCsv, importChargebackCsv } from '../../control/chargeback.js';
import { getTeam } from '../../control/teams.js';
import { GatewayError } from '../../errors/catalogue.js';
import { RawReply, route } from '../route.js';
import { id } from '../schemas.js';
import { assertNotOwnTeam } from './teams.js';

// The refusal as a row's error, or undefined when the change is allowed.
const refusal = async (check: () => Promise<void>): Promise<string | undefined> => {
  try {
    await check();
    return undefined;
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'forbidden') return err.message;
    throw err;
  }
};

export const chargebackRoutes = [
  route({
    method: 'POST', path: '/chargeback/import', tag: 'users', summary: 'Import chargeback metadata from CSV (type,name,department,cost_center,label:KEY...); one result per row', permission: 'users:write',
    body: z.object({ orgId: id, csv: z.string().max(5_000_000) }),
    async handle({ db, access, change, body }) {
      await access.assertOrg('users:write', body.orgId);
      const results = await importChargebackCsv(db, change, body.orgId, body.csv, {
        mayChange: (kind, target) =>
          refusal(async () => {
            if (kind === 'user') {
              await access.assertUser('users:write', target);
              await access.assertNotSelf('users:write', target.id);
            } else {
              await access.assertTeam('teams:write', await getTeam(db, target.id));
              await assertNotOwnTeam(db, access, target.id);
            }
          }),
      });
      return { updated: results.filter((r) => r.status === 'updated').length, failed: results.filter((r) => r.status === 'failed').length, results };
    },
  }),
  route({
    method: 'GET', path: '/chargeback/export', tag: 'users', summary: 'Chargeback metadata of the users and teams you may see, as CSV (the import columns)', permission: 'users:read',
    query: z.object({ orgId: id }),
    async handle({ db, access, query }) {
      await access.assertOrg('users:read', query.orgId);
      return new RawReply('text/csv; charset=utf-8', await exportChargebackCsv(db, await access.visibility('users:read'), query.orgId));
    },
  }),
];
