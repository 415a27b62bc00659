// The shape every analysis reads: one scope's amounts per local calendar day, dense (a day with no
// usage is 0), oldest first. Filled from the ledger by src/analytics/inputs.ts or by hand in tests.
export type SeriesScope = 'org' | 'team' | 'user' | 'key' | 'model';
export type SeriesMetric = 'costMicros' | 'tokens' | 'requests';

export interface ScopeSeries {
  readonly scope: SeriesScope;
  readonly scopeId: string;
  readonly metric: SeriesMetric;
  // Day of amounts[0], 'YYYY-MM-DD' in the analysis' time zone.
  readonly firstDay: string;
  readonly amounts: readonly number[];
}
