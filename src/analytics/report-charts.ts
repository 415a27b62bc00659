// Report charts as plain geometry (rectangles and labels in a width x height box), drawn by the HTML
// report as inline SVG and by the PDF report with pdfkit's vector calls: one layout, two renderers.
import { usd } from './report-format.js';
import type { DayLine, ModelLine } from './report-data.js';

export interface ChartBar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  // Shown on hover in the HTML report.
  readonly title: string;
}

export interface ChartLabel {
  readonly x: number;
  readonly y: number;
  readonly text: string;
  readonly anchor: 'start' | 'middle' | 'end';
}

export interface Chart {
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly bars: readonly ChartBar[];
  readonly labels: readonly ChartLabel[];
  // Axis lines, [x1, y1, x2, y2].
  readonly lines: ReadonlyArray<readonly [number, number, number, number]>;
}

const left = 90;
const bottom = 24;
const top = 10;

// Spend per day as vertical bars; at most about twelve day labels so they never overlap.
export function dailyCostChart(days: readonly DayLine[], width: number, height: number): Chart {
  const max = Math.max(1, ...days.map((d) => d.costMicros));
  const plotWidth = width - left - 10;
  const plotHeight = height - top - bottom;
  const step = plotWidth / Math.max(1, days.length);
  const every = Math.max(1, Math.ceil(days.length / 12));
  const bars = days.map((d, i) => {
    const h = (d.costMicros / max) * plotHeight;
    return { x: left + i * step + step * 0.1, y: top + plotHeight - h, width: step * 0.8, height: h, title: `${d.day}: ${usd(d.costMicros)}` };
  });
  const labels: ChartLabel[] = [
    { x: left - 6, y: top + 8, text: usd(max), anchor: 'end' },
    { x: left - 6, y: top + plotHeight, text: '$0', anchor: 'end' },
    ...days.flatMap((d, i) => (i % every === 0 ? [{ x: left + i * step + step / 2, y: height - 6, text: d.day.slice(5), anchor: 'middle' as const }] : [])),
  ];
  return { title: 'Cost by day', width, height, bars, labels, lines: [[left, top, left, top + plotHeight], [left, top + plotHeight, width - 10, top + plotHeight]] };
}

// Spend per model as horizontal bars, largest first (the lines arrive ordered by cost).
export function modelCostChart(models: readonly ModelLine[], width: number): Chart {
  const rowHeight = 22;
  const shown = models.slice(0, 12);
  const height = top + shown.length * rowHeight + 10;
  const nameWidth = 200;
  const plotWidth = width - nameWidth - 140;
  const max = Math.max(1, ...shown.map((m) => m.costMicros));
  const bars = shown.map((m, i) => ({ x: nameWidth, y: top + i * rowHeight + 3, width: Math.max(1, (m.costMicros / max) * plotWidth), height: rowHeight - 6, title: `${m.provider}/${m.model}: ${usd(m.costMicros)}` }));
  const labels = shown.flatMap((m, i): ChartLabel[] => [
    { x: nameWidth - 6, y: top + i * rowHeight + 15, text: `${m.provider}/${m.model}`, anchor: 'end' },
    { x: nameWidth + bars[i]!.width + 6, y: top + i * rowHeight + 15, text: usd(m.costMicros), anchor: 'start' },
  ]);
  return { title: 'Cost by model', width, height, bars, labels, lines: [[nameWidth, top, nameWidth, height - 10]] };
}
