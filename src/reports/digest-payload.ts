// What a scheduled digest says, fixed when it is queued: the same {type, timestamp, data} envelope
// as alert notifications, with the whole report (JSON) in data, so every retry sends the same
// figures and each channel renders it its own way (src/reports/digest-delivery.ts): the webhook
// sends the envelope as is, Slack a summary, email the HTML report with the PDF attached.
import type { DigestCadence } from '../../drizzle/schema/reports.js';
import type { Report } from '../analytics/report-data.js';
import { count, usd } from '../analytics/report-format.js';

export interface DigestData {
  readonly scheduleId: string;
  readonly scheduleName: string;
  readonly cadence: DigestCadence;
  readonly orgId: string;
  readonly teamId: string | null;
  // Local days in tz, both included.
  readonly from: string;
  readonly to: string;
  readonly tz: string;
  readonly report: Report;
}

export interface DigestPayload {
  readonly type: 'report.digest';
  readonly timestamp: string;
  readonly data: DigestData;
}

export const isDigestPayload = (payload: { readonly type: string }): payload is DigestPayload => payload.type === 'report.digest';

export const digestPayload = (data: DigestData, nowMs: number): DigestPayload => ({ type: 'report.digest', timestamp: new Date(nowMs).toISOString(), data });

export function digestHeadline(d: DigestData): string {
  const period = d.from === d.to ? d.from : `${d.from} to ${d.to}`;
  return `${d.cadence[0]!.toUpperCase()}${d.cadence.slice(1)} usage digest: ${d.report.scope.kind === 'org' ? d.report.org.name : `${d.report.org.name} / ${d.report.scope.name}`}, ${period}: ${usd(d.report.totals.costMicros)}`;
}

// The figures a short message carries: totals, the biggest models and teams, budgets near out.
export function digestSummaryLines(d: DigestData): string[] {
  const r = d.report;
  const t = r.totals;
  return [
    `Cost ${usd(t.costMicros)} over ${count(t.requests)} requests (${count(t.errors)} errors), ${count(t.inputTokens)} input and ${count(t.outputTokens)} output tokens.`,
    ...r.byModel.slice(0, 3).map((m) => `Model ${m.provider}/${m.model}: ${usd(m.costMicros)}`),
    ...r.byTeam.top.slice(0, 3).map((l) => `Team ${l.name}: ${usd(l.costMicros)}`),
    ...r.budgets.filter((b) => b.runOutDay !== null).slice(0, 3).map((b) => `Budget ${b.scope} ${b.subject.name} (${b.metric}/${b.window}) runs out ${b.runOutDay} at the P50 rate`),
    ...(r.anomalies.length ? [`${r.anomalies.length} anomalies`] : []),
  ];
}
