// An upstream that answers OpenAI (chat, completions, responses, embeddings) and Anthropic
// (messages) calls the way the next script says, and records for each call the usage it reported
// as produced. It is "hostile" in form only: usage where a parser may not look, SSE framing that
// is legal but unusual, writes split at odd bytes, and a path normalisation of its own (decoded
// escapes, backslashes, dot segments, doubled slashes), as a CDN in front of a provider might do,
// so any request the gateway forwards raw still lands on a billable endpoint.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export type Kind = 'chat' | 'completions' | 'responses' | 'embeddings' | 'messages';

// Where usage goes in a stream: the final usage-only chunk, the last content chunk, every chunk
// (cumulative), or a full report followed by a smaller one (the largest is what was produced).
export type UsagePlacement = 'final' | 'inline' | 'cumulative' | 'shrinking';

export interface ReportedUsage {
  input: number;
  output: number;
  cached: number;
  // Anthropic's cache writes (billed as input); ignored on OpenAI shapes.
  cacheWrite: number;
}

export interface UpstreamScript {
  // 'asked' answers as the request asked (stream: true -> SSE).
  format: 'asked' | 'json' | 'sse';
  usage: ReportedUsage | null;
  placement: UsagePlacement;
  choices: number;
  words: readonly string[];
  lineEnding: '\n' | '\r\n';
  dataPrefix: 'data: ' | 'data:';
  // Send Anthropic's `event:` lines (the type is in the data either way).
  eventLines: boolean;
  contentType: string;
  // Byte counts at which the answer is cut into separate writes.
  splits: readonly number[];
}

export interface UpstreamCall {
  path: string;
  kind: Kind | null;
  status: number;
  // The total the upstream said it produced: input (cache reads and writes included) + output.
  reportedTokens: number;
  usageReported: boolean;
  deliveredText: string;
}

export const defaultScript: UpstreamScript = {
  format: 'asked',
  usage: { input: 11, output: 7, cached: 0, cacheWrite: 0 },
  placement: 'final',
  choices: 1,
  words: ['hello', ' world'],
  lineEnding: '\n',
  dataPrefix: 'data: ',
  eventLines: true,
  contentType: 'text/event-stream',
  splits: [],
};

export interface HostileUpstream {
  readonly url: string;
  readonly port: number;
  script: UpstreamScript;
  readonly calls: UpstreamCall[];
  close(): Promise<void>;
}

// Resolves the path as a lenient server would before routing on it.
export function normalisePath(rawPath: string): string {
  let path = rawPath.split(/[?#;]/)[0] ?? '';
  for (let i = 0; i < 3; i++) {
    try {
      path = decodeURIComponent(path);
    } catch {
      break;
    }
  }
  const out: string[] = [];
  for (const segment of path.replaceAll('\\', '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`.toLowerCase();
}

export function kindOf(path: string): Kind | null {
  const p = normalisePath(path);
  if (p.endsWith('/chat/completions')) return 'chat';
  if (p.endsWith('/completions')) return 'completions';
  if (p.endsWith('/responses')) return 'responses';
  if (p.endsWith('/embeddings')) return 'embeddings';
  if (p.endsWith('/messages')) return 'messages';
  return null;
}

const totalOf = (u: ReportedUsage, kind: Kind): number => (kind === 'embeddings' ? u.input : u.input + u.output + (kind === 'messages' ? u.cached + u.cacheWrite : 0));

const openaiUsage = (u: ReportedUsage, kind: Kind) =>
  kind === 'responses'
    ? { input_tokens: u.input, output_tokens: u.output, total_tokens: u.input + u.output, input_tokens_details: { cached_tokens: Math.min(u.cached, u.input) } }
    : { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output, prompt_tokens_details: { cached_tokens: Math.min(u.cached, u.input) } };

const anthropicUsage = (u: ReportedUsage) => ({ input_tokens: u.input, output_tokens: u.output, cache_read_input_tokens: u.cached, cache_creation_input_tokens: u.cacheWrite });
const zero: ReportedUsage = { input: 0, output: 0, cached: 0, cacheWrite: 0 };
// A cumulative report part-way through: the input is known, the output is still growing.
const partial = (u: ReportedUsage, done: number, of: number): ReportedUsage => ({ ...u, output: Math.floor((u.output * done) / of) });

function jsonAnswer(kind: Kind, s: UpstreamScript, choices: number): unknown {
  const text = s.words.join('');
  const usage = s.usage;
  switch (kind) {
    case 'chat':
      return {
        id: 'chatcmpl-fuzz', object: 'chat.completion', created: 0, model: 'fuzz',
        choices: Array.from({ length: choices }, (_, index) => ({ index, message: { role: 'assistant', content: text }, finish_reason: 'stop' })),
        ...(usage && { usage: openaiUsage(usage, kind) }),
      };
    case 'completions':
      return {
        id: 'cmpl-fuzz', object: 'text_completion', created: 0, model: 'fuzz',
        choices: Array.from({ length: choices }, (_, index) => ({ index, text, finish_reason: 'stop' })),
        ...(usage && { usage: openaiUsage(usage, kind) }),
      };
    case 'responses':
      return {
        id: 'resp_fuzz', object: 'response', status: 'completed', model: 'fuzz',
        output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }],
        ...(usage && { usage: openaiUsage(usage, kind) }),
      };
    case 'embeddings':
      return { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'fuzz', ...(usage && { usage: { prompt_tokens: usage.input, total_tokens: usage.input } }) };
    case 'messages':
      return {
        id: 'msg_fuzz', type: 'message', role: 'assistant', model: 'fuzz', content: [{ type: 'text', text }], stop_reason: 'end_turn',
        ...(usage && { usage: anthropicUsage(usage) }),
      };
  }
}

interface SseEvent {
  event?: string;
  data: unknown;
}

function openaiChunks(kind: 'chat' | 'completions', s: UpstreamScript, choices: number): SseEvent[] {
  const usage = s.usage;
  const chunk = (index: number, word: string) => ({ index, ...(kind === 'chat' ? { delta: { content: word } } : { text: word }) });
  const steps = s.words.flatMap((word) => Array.from({ length: choices }, (_, index) => chunk(index, word)));
  const events: SseEvent[] = steps.map((c, i) => {
    const base = { id: 'fuzz', object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', choices: [c] };
    if (!usage) return { data: base };
    if (s.placement === 'cumulative') return { data: { ...base, usage: openaiUsage(partial(usage, i + 1, steps.length), kind) } };
    if (s.placement === 'inline' && i === steps.length - 1) return { data: { ...base, usage: openaiUsage(usage, kind) } };
    return { data: base };
  });
  if (usage && (s.placement === 'final' || s.placement === 'shrinking')) events.push({ data: { id: 'fuzz', choices: [], usage: openaiUsage(usage, kind) } });
  if (usage && s.placement === 'shrinking') events.push({ data: { id: 'fuzz', choices: [], usage: openaiUsage(zero, kind) } });
  return events;
}

function responsesEvents(s: UpstreamScript): SseEvent[] {
  const usage = s.usage;
  const events: SseEvent[] = s.words.map((delta) => ({ event: 'response.output_text.delta', data: { type: 'response.output_text.delta', delta } }));
  const completed = (u: ReportedUsage | null) => ({ event: 'response.completed', data: { type: 'response.completed', response: { id: 'resp_fuzz', status: 'completed', ...(u && { usage: openaiUsage(u, 'responses') }) } } });
  events.push(completed(usage));
  if (usage && s.placement === 'shrinking') events.push(completed(zero));
  return events;
}

function anthropicEvents(s: UpstreamScript): SseEvent[] {
  const usage = s.usage;
  const start = usage ? anthropicUsage(s.placement === 'cumulative' ? { ...usage, output: 1 } : { ...usage, output: Math.min(1, usage.output) }) : undefined;
  const events: SseEvent[] = [
    { event: 'message_start', data: { type: 'message_start', message: { id: 'msg_fuzz', type: 'message', role: 'assistant', model: 'fuzz', content: [], ...(start && { usage: start }) } } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
  ];
  s.words.forEach((text, i) => {
    events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } } });
    if (usage && s.placement === 'cumulative') events.push({ event: 'message_delta', data: { type: 'message_delta', delta: {}, usage: { output_tokens: partial(usage, i + 1, s.words.length).output } } });
  });
  events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } });
  const final = usage && (s.placement === 'inline' ? anthropicUsage(usage) : { output_tokens: usage.output });
  events.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, ...(final && { usage: final }) } });
  if (usage && s.placement === 'shrinking') events.push({ event: 'message_delta', data: { type: 'message_delta', delta: {}, usage: { output_tokens: 0, input_tokens: 0 } } });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

function sseText(kind: Kind, s: UpstreamScript, choices: number): string {
  const events = kind === 'messages' ? anthropicEvents(s) : kind === 'responses' ? responsesEvents(s) : openaiChunks(kind === 'completions' ? 'completions' : 'chat', s, choices);
  const nl = s.lineEnding;
  const lines = events.map((e) => `${e.event && (kind !== 'messages' || s.eventLines) ? `event: ${e.event}${nl}` : ''}${s.dataPrefix}${JSON.stringify(e.data)}${nl}${nl}`);
  if (kind === 'chat' || kind === 'completions') lines.push(`${s.dataPrefix}[DONE]${nl}${nl}`);
  return lines.join('');
}

async function writeSplit(res: ServerResponse, payload: Buffer, splits: readonly number[]): Promise<void> {
  let at = 0;
  for (const cut of [...new Set(splits.filter((n) => n > 0 && n < payload.length))].sort((a, b) => a - b)) {
    res.write(payload.subarray(at, cut));
    at = cut;
    await new Promise((r) => setImmediate(r));
  }
  res.end(payload.subarray(at));
}

const readJson = async (req: IncomingMessage): Promise<Record<string, unknown> | undefined> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

export async function startHostileUpstream(): Promise<HostileUpstream> {
  const calls: UpstreamCall[] = [];
  const upstream = { script: defaultScript, calls } as HostileUpstream & { url: string; port: number };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      const path = req.url ?? '/';
      const kind = kindOf(path);
      const s = upstream.script;
      // Relayed answers are marked, so the properties can tell them from the gateway's own.
      res.setHeader('x-fuzz-upstream', '1');
      if (!kind) {
        calls.push({ path, kind, status: 404, reportedTokens: 0, usageReported: false, deliveredText: '' });
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'upstream: no such path', type: 'invalid_request_error', code: 'unknown_url' } }));
        return;
      }
      const n = typeof body?.n === 'number' && Number.isInteger(body.n) && body.n >= 1 && body.n <= 4 ? body.n : s.choices;
      const choices = kind === 'chat' || kind === 'completions' ? n : 1;
      const sse = kind !== 'embeddings' && (s.format === 'sse' || (s.format === 'asked' && body?.stream === true));
      const s2 = s.usage && choices > 1 ? { ...s, usage: { ...s.usage, output: s.usage.output * choices } } : s;
      // With `shrinking`, the largest report (the first) is the one that counts as produced.
      const reportedTokens = s2.usage ? totalOf(s2.usage, kind) : 0;
      const text = kind === 'embeddings' ? '' : s.words.join('').repeat(choices);
      calls.push({ path, kind, status: 200, reportedTokens, usageReported: s2.usage !== null, deliveredText: text });
      if (sse) {
        res.writeHead(200, { 'content-type': s.contentType });
        await writeSplit(res, Buffer.from(sseText(kind, s2, choices)), s.splits);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        await writeSplit(res, Buffer.from(JSON.stringify(jsonAnswer(kind, s2, choices))), s.splits);
      }
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  upstream.port = typeof address === 'object' && address ? address.port : 0;
  upstream.url = `http://127.0.0.1:${upstream.port}`;
  upstream.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return upstream;
}
