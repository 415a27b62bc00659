// Renders the Helm chart without helm (Debian has no package of it): a small interpreter for the
// subset of Go templates the chart uses — define/include, if/else/with/range/end, comments, `.path`
// (relative to the current dot, as in Go) and `$.path` (the root), .Files.Get, string and number
// literals, and the functions not, int, quote, toYaml, nindent and sha256sum. Anything else
// throws, so the chart cannot quietly grow past what this renders.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';

type Block = 'if' | 'with' | 'range';
type Node = { kind: 'text'; text: string } | { kind: 'action'; expr: string } | { kind: 'block'; op: Block; expr: string; then: Node[]; else: Node[] };

function tokenize(source: string): Array<{ text?: string; action?: string }> {
  const tokens: Array<{ text?: string; action?: string }> = [];
  const re = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/gs;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    tokens.push({ text });
    if (!m[2]!.startsWith('/*')) tokens.push({ action: m[2]! });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  let tail = source.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  tokens.push({ text: tail });
  return tokens;
}

function parse(tokens: Array<{ text?: string; action?: string }>, defines: Map<string, Node[]>): Node[] {
  let i = 0;
  const until = (stops: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t.text !== undefined) {
        if (t.text) nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const action = t.action!;
      const word = action.split(/\s+/)[0]!;
      if (stops.includes(word)) return { nodes, stop: word };
      if (word === 'define') {
        const name = /^define\s+"([^"]+)"$/.exec(action)![1]!;
        defines.set(name, until(['end']).nodes);
      } else if (word === 'if' || word === 'with' || word === 'range') {
        const expr = action.slice(word.length).trim();
        const then = until(['else', 'end']);
        const otherwise = then.stop === 'else' ? until(['end']).nodes : [];
        nodes.push({ kind: 'block', op: word, expr, then: then.nodes, else: otherwise });
      } else nodes.push({ kind: 'action', expr: action });
    }
    return { nodes, stop: '' };
  };
  return until([]).nodes;
}

const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0));

interface Scope {
  root: Record<string, unknown>;
  dot: unknown;
  chartDir: string;
  defines: Map<string, Node[]>;
}

function renderNodes(nodes: Node[], scope: Scope): string {
  return nodes
    .map((node) => {
      if (node.kind === 'text') return node.text;
      if (node.kind === 'action') return String(evaluate(node.expr, scope) ?? '');
      const value = evaluate(node.expr, scope);
      if (!truthy(value)) return renderNodes(node.else, scope);
      if (node.op === 'if') return renderNodes(node.then, scope);
      if (node.op === 'with') return renderNodes(node.then, { ...scope, dot: value });
      const items = Array.isArray(value) ? value : Object.keys(value as object).sort().map((k) => (value as Record<string, unknown>)[k]);
      return items.map((item) => renderNodes(node.then, { ...scope, dot: item })).join('');
    })
    .join('');
}

const lookup = (from: unknown, path: string): unknown =>
  path
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, key) => (v === undefined || v === null ? undefined : (v as Record<string, unknown>)[key]), from);

function operand(token: string, scope: Scope): unknown {
  if (token.startsWith('"')) return JSON.parse(token);
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  if (token === '.') return scope.dot;
  if (token === '$') return scope.root;
  if (token.startsWith('$.')) return lookup(scope.root, token.slice(2));
  if (token.startsWith('.')) return lookup(scope.dot, token.slice(1));
  throw new Error(`unsupported operand ${token}`);
}

const functions: Record<string, (args: unknown[], scope: Scope) => unknown> = {
  include: ([name, ctx], scope) => {
    const body = scope.defines.get(name as string);
    if (!body) throw new Error(`no template named ${String(name)}`);
    return renderNodes(body, { ...scope, dot: ctx });
  },
  '.Files.Get': ([path], scope) => readFileSync(join(scope.chartDir, path as string), 'utf8'),
  not: ([v]) => !truthy(v),
  quote: ([v]) => JSON.stringify(String(v ?? '')),
  toYaml: ([v]) => stringify(v, { lineWidth: 0 }).replace(/\n$/, ''),
  // Helm reads every number in values as a float, printed as 1e+07 from ten million up, hence int.
  int: ([v]) => Math.trunc(Number(v)),
  sha256sum: ([v]) => createHash('sha256').update(String(v)).digest('hex'),
  nindent: ([n, text]) => `\n${String(text).split('\n').map((line) => ' '.repeat(n as number) + line).join('\n')}`,
};

function evaluate(expr: string, scope: Scope): unknown {
  const stages = expr.split(/\|(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((s) => s.trim().match(/"[^"]*"|\S+/g)!);
  let value: unknown;
  stages.forEach((words, index) => {
    const [fn, ...args] = words;
    const call = functions[fn!];
    if (call) {
      value = call([...args.map((a) => operand(a, scope)), ...(index === 0 ? [] : [value])], scope);
      return;
    }
    if (index > 0 || args.length > 0) throw new Error(`unsupported template function ${fn}`);
    value = operand(fn!, scope);
  });
  return value;
}

export interface RenderedChart {
  // Template file name -> the YAML documents it produced (empty documents dropped).
  files: Map<string, unknown[]>;
}

function merge(base: unknown, over: unknown): unknown {
  if (over && typeof over === 'object' && !Array.isArray(over) && base && typeof base === 'object' && !Array.isArray(base)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

export function renderChart(chartDir: string, release: string, overrides: Record<string, unknown> = {}): RenderedChart {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const values = merge(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')), overrides) as Record<string, unknown>;
  const root = { Values: values, Release: { Name: release, Namespace: 'default' }, Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion } };
  const defines = new Map<string, Node[]>();
  const scope: Scope = { root, dot: root, chartDir, defines };
  const templates = readdirSync(join(chartDir, 'templates')).sort();
  for (const file of templates.filter((f) => f.endsWith('.tpl'))) parse(tokenize(readFileSync(join(chartDir, 'templates', file), 'utf8')), defines);
  const files = new Map<string, unknown[]>();
  for (const file of templates.filter((f) => f.endsWith('.yaml'))) {
    const text = renderNodes(parse(tokenize(readFileSync(join(chartDir, 'templates', file), 'utf8')), defines), scope);
    const docs = text
      .split(/^---$/m)
      .map((doc) => parseYaml(doc) as unknown)
      .filter((doc) => doc !== null && doc !== undefined);
    files.set(file, docs);
  }
  return { files };
}
