// Which channels an alert goes to at an escalation step: routes of the alert's org (or every org),
// team (or every team) and source (or every source) whose minimum severity it reaches, to enabled
// channels that belong to the alert's org or to the whole gateway.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import type { AlertRow } from './payload.js';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const rank = (column: ReturnType<typeof sql>) => sql`array_position(array['low','medium','high','critical']::text[], ${column})`;

export async function channelsFor(tx: Db | Tx, alert: AlertRow, steps: { from: number; to: number }): Promise<string[]> {
  const result = await tx.execute(sql`
    select distinct c.id from alert_routes r join alert_channels c on c.id = r.channel_id
    where c.enabled and r.step between ${steps.from} and ${steps.to}
      and (r.org_id is null or r.org_id = ${alert.orgId})
      and (c.org_id is null or c.org_id = ${alert.orgId})
      and (r.team_id is null or r.team_id = ${alert.teamId})
      and (r.source is null or r.source = ${alert.source})
      and ${rank(sql`${alert.severity}::text`)} >= ${rank(sql`r.min_severity`)}
    order by c.id`);
  return (result as unknown as { rows: Array<{ id: string }> }).rows.map((r) => r.id);
}
