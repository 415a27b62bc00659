// Renders the Helm chart without helm (not installable here): a small interpreter for the subset
// of Go templates the chart uses — define/include, if/else/with/end (with `not`), .Values /
// .Release / .Chart paths, string literals, and the quote, nindent and toYaml functions.
// Anything else throws, so the chart cannot quietly grow past what this test checks.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';

type Node = { kind: 'text'; text: string } | { kind: 'action'; expr: string } | { kind: 'block'; op: 'if' | 'with'; expr: string; then: Node[]; else: Node[] };

function tokenize(source: string): Array<{ text?: string; action?: string }> {
  const tokens: Array<{ text?: string; action?: string }> = [];
  const re = /\{\{(-?)\s*(.*?)\s*(-?)\}\}/gs;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    tokens.push({ text }, { action: m[2]! });
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
      } else if (word === 'if' || word === 'with') {
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
}

function renderNodes(nodes: Node[], scope: Scope, defines: Map<string, Node[]>): string {
  return nodes
    .map((node) => {
      if (node.kind === 'text') return node.text;
      if (node.kind === 'action') return String(evaluate(node.expr, scope, defines) ?? '');
      const value = evaluate(node.expr, scope, defines);
      if (!truthy(value)) return renderNodes(node.else, scope, defines);
      return renderNodes(node.then, node.op === 'with' ? { ...scope, dot: value } : scope, defines);
    })
    .join('');
}

function operand(token: string, scope: Scope): unknown {
  if (token.startsWith('"')) return JSON.parse(token);
  if (/^\d+$/.test(token)) return Number(token);
  if (token === '.') return scope.dot;
  if (token.startsWith('.')) {
    return token.slice(1).split('.').reduce<unknown>((v, key) => (v === undefined || v === null ? undefined : (v as Record<string, unknown>)[key]), scope.root);
  }
  throw new Error(`unsupported operand ${token}`);
}

function evaluate(expr: string, scope: Scope, defines: Map<string, Node[]>): unknown {
  const stages = expr.split('|').map((s) => s.trim().match(/"[^"]*"|\S+/g)!);
  let value: unknown;
  stages.forEach((words, index) => {
    const [fn, ...args] = words;
    const piped = index === 0 ? [] : [value];
    const values = () => [...args.map((a) => operand(a, scope)), ...piped];
    switch (fn) {
      case 'include': {
        const [name, ctx] = values() as [string, unknown];
        const body = defines.get(name);
        if (!body) throw new Error(`no template named ${name}`);
        value = renderNodes(body, { ...scope, dot: ctx }, defines);
        break;
      }
      case 'not':
        value = !truthy(values()[0]);
        break;
      case 'quote':
        value = JSON.stringify(String(values()[0] ?? ''));
        break;
      case 'toYaml':
        value = stringify(values()[0]).replace(/\n$/, '');
        break;
      case 'nindent': {
        const [n, text] = values() as [number, string];
        value = `\n${String(text).split('\n').map((line) => ' '.repeat(n) + line).join('\n')}`;
        break;
      }
      default:
        if (index > 0 || args.length > 0) throw new Error(`unsupported template function ${fn}`);
        value = operand(fn!, scope);
    }
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
  const templates = readdirSync(join(chartDir, 'templates')).sort();
  for (const file of templates.filter((f) => f.endsWith('.tpl'))) parse(tokenize(readFileSync(join(chartDir, 'templates', file), 'utf8')), defines);
  const files = new Map<string, unknown[]>();
  for (const file of templates.filter((f) => f.endsWith('.yaml'))) {
    const text = renderNodes(parse(tokenize(readFileSync(join(chartDir, 'templates', file), 'utf8')), defines), { root, dot: root }, defines);
    const docs = text
      .split(/^---$/m)
      .map((doc) => parseYaml(doc) as unknown)
      .filter((doc) => doc !== null && doc !== undefined);
    files.set(file, docs);
  }
  return { files };
}
