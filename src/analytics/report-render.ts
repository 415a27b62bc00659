// A report in the format asked for, with its media type: the one switch between the formats.
import type { Report } from './report-data.js';
import { reportToCsv } from './report-csv.js';
import { reportToHtml } from './report-html.js';
import { reportToPdf } from './report-pdf.js';

export const reportFormats = ['json', 'csv', 'html', 'pdf'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export interface RenderedReport {
  readonly contentType: string;
  readonly body: string | Buffer;
}

export async function renderReport(report: Report, format: ReportFormat): Promise<RenderedReport> {
  switch (format) {
    case 'json':
      return { contentType: 'application/json', body: `${JSON.stringify(report, null, 2)}\n` };
    case 'csv':
      return { contentType: 'text/csv; charset=utf-8', body: reportToCsv(report) };
    case 'html':
      return { contentType: 'text/html; charset=utf-8', body: reportToHtml(report) };
    case 'pdf':
      return { contentType: 'application/pdf', body: await reportToPdf(report) };
  }
}
