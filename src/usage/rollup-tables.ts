// The rollup tables the ledger adds every inserted event to, with their time bucket and the
// dimensions each one keeps. The wide ones (every dimension, hour and UTC day) answer any grouping;
// the team ones (org, team, provider, model only: a few hundred rows a day instead of thousands)
// answer the usual org and team views fast, and their 15-minute rows give exact local days in
// +05:30 and +05:45 zones without reading raw events (src/analytics/query-plan.ts picks one). The
// key ones (org, user and key: a third of the wide rows) hold the analyses' per-user and per-key
// day series (src/analytics/inputs.ts).
export type RollupWidth = '15 minutes' | '1 hour' | '1 day';

export interface RollupTable {
  readonly table: string;
  // Start of the bucket, a UTC-aligned instant.
  readonly bucket: string;
  readonly width: RollupWidth;
  readonly dimensions: readonly string[];
  readonly constraint: string;
}

const wide = ['team_id', 'user_id', 'key_id', 'provider', 'model'] as const;
const team = ['team_id', 'provider', 'model'] as const;
const key = ['user_id', 'key_id'] as const;

export const rollupTables: readonly RollupTable[] = [
  { table: 'usage_rollups_hourly', bucket: 'hour', width: '1 hour', dimensions: wide, constraint: 'usage_rollups_hourly_uq' },
  { table: 'usage_rollups_daily', bucket: 'day', width: '1 day', dimensions: wide, constraint: 'usage_rollups_daily_uq' },
  { table: 'usage_rollups_team_15m', bucket: 'quarter', width: '15 minutes', dimensions: team, constraint: 'usage_rollups_team_15m_uq' },
  { table: 'usage_rollups_team_hourly', bucket: 'hour', width: '1 hour', dimensions: team, constraint: 'usage_rollups_team_hourly_uq' },
  { table: 'usage_rollups_team_daily', bucket: 'day', width: '1 day', dimensions: team, constraint: 'usage_rollups_team_daily_uq' },
  { table: 'usage_rollups_key_hourly', bucket: 'hour', width: '1 hour', dimensions: key, constraint: 'usage_rollups_key_hourly_uq' },
  { table: 'usage_rollups_key_daily', bucket: 'day', width: '1 day', dimensions: key, constraint: 'usage_rollups_key_daily_uq' },
];
