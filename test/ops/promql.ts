// Reads PromQL the way Prometheus does (the Prometheus project's own lezer grammar), for tests of
// the shipped alert rules and Grafana dashboard: the metric names an expression selects, or an
// error naming where it does not parse.
import { parser } from '@prometheus-io/lezer-promql';

// Grafana's range variables stand for a duration; Prometheus never sees them.
const grafanaDurations = /\$__(rate_interval|interval|range)\b/g;

export function promqlMetricNames(expr: string): string[] {
  const query = expr.replace(grafanaDurations, '5m');
  const names = new Set<string>();
  const cursor = parser.parse(query).cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL does not parse at ${cursor.from}: ${query}`);
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') names.add(query.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return [...names];
}

// A name as a scrape lists it: a histogram's series carry _bucket, _sum and _count on the family's
// name, a summary's _sum and _count, so a selected series exists when its family does.
export function metricFamilyOf(name: string, families: ReadonlyMap<string, string>): string | undefined {
  if (families.has(name)) return name;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  if (!suffix) return undefined;
  const family = name.slice(0, -suffix[0].length);
  const type = families.get(family);
  if (type === 'histogram' || (type === 'summary' && suffix[1] !== 'bucket')) return family;
  return undefined;
}

// `# TYPE name type` lines of a Prometheus text exposition: every family, observed or not yet.
export function scrapeFamilies(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}
