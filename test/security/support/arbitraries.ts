// fast-check arbitraries for hostile requests: JSON bodies written as text (so duplicate keys,
// 1e999, lone surrogates and broken syntax survive), raw request targets, and header sets.
import fc from 'fast-check';

// A JSON document as text, built from parts so that it can say things JSON.stringify cannot.
export type JsonText = string;

const str = (s: string): JsonText => JSON.stringify(s);
export const obj = (entries: ReadonlyArray<readonly [string, JsonText]>): JsonText => `{${entries.map(([k, v]) => `${str(k)}:${v}`).join(',')}}`;
const arr = (items: readonly JsonText[]): JsonText => `[${items.join(',')}]`;

export const modelNames = ['gpt-4o-mini', 'gpt-4o', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small', 'claude-haiku-4-5', 'claude-sonnet-4-5'] as const;

// Numbers a parser may turn into Infinity, lose precision on, or that are not integers.
const oddNumber = fc.constantFrom('1e999', '-1e999', '123456789012345678901234567890', '9007199254740993', '-0', '0', '-1', '1.5', '1e-400', '2147483648', '4294967296', '0.0', '1E3');
const oddString = fc.oneof(
  fc.string({ maxLength: 20 }).map(str),
  fc.string({ unit: 'binary', maxLength: 20 }).map(str),
  fc.constantFrom('"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\u202e"', '"🦙"', '""', '"  "', '"gpt-4o-mini\\u0000"', '"../gpt-4o-mini"'),
);
// Objects that break code treating a parsed value as a string or a plain record.
export const prototypeTrap = fc.constantFrom('{"toString":1}', '{"toString":{},"valueOf":{}}', '{"__proto__":{"text":"x"}}', '{"constructor":{"prototype":{}}}', '{"toJSON":1}');
const scalar: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '{}', '[]'),
  prototypeTrap,
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  oddNumber,
  oddString,
);
// Nested 40..150 deep: around and past the gateway's 64-level cap.
export const deep: fc.Arbitrary<JsonText> = fc
  .tuple(fc.integer({ min: 40, max: 150 }), fc.constantFrom('[', '{"a":'), scalar)
  .map(([depth, open, leaf]) => open.repeat(depth) + leaf + (open === '[' ? ']' : '}').repeat(depth));
// Keys that code walking a parsed body may trip on: prototype names (String({toString: 1}) throws)
// and the field names the token counters read.
const key = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('toString', 'valueOf', '__proto__', 'constructor', 'toJSON', 'type', 'text', 'role', 'content', 'name', 'properties', 'enum', 'items', 'url', 'image_url', 'input', 'function', 'parameters', 'input_schema', 'source', 'data'),
);
const anyValue: fc.Arbitrary<JsonText> = fc.letrec<{ v: JsonText }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }).map(arr), fc.array(fc.tuple(key, tie('v')), { maxLength: 3 }).map(obj)),
})).v;
// Deep nesting is rare per field: most bodies have several hostile fields, and one deep value
// anywhere makes the whole body an invalid_json refusal that tests nothing else.
const hostile = fc.oneof({ weight: 15, arbitrary: anyValue }, { weight: 1, arbitrary: deep });

// Image headers the counters size images from: huge, zero and truncated dimensions.
function pngBytes(w: number, h: number): string {
  const b = Buffer.alloc(33);
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').copy(b);
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return `data:image/png;base64,${b.toString('base64')}`;
}
const imageUrl = fc.oneof(
  fc.constantFrom(pngBytes(0xffffffff, 0xffffffff), pngBytes(0, 0), pngBytes(1, 0x7fffffff), 'data:image/png;base64,', 'data:image/png;base64,!!!!', 'data:;base64,AAAA', 'data:image/gif;base64,R0lGODlh', 'https://example.invalid/a.png').map(str),
  hostile,
);
const part = fc
  .tuple(fc.oneof(fc.constantFrom('text', 'image_url', 'image', 'input_audio', 'tool_use', 'tool_result', 'document', 'thinking').map(str), prototypeTrap, hostile), fc.oneof(fc.constant(str('hi')), hostile), imageUrl, fc.oneof(fc.constantFrom('low', 'high', 'auto').map(str), hostile))
  .map(([type, text, url, detail]) => obj([['type', type], ['text', text], ['image_url', obj([['url', url], ['detail', detail]])], ['source', obj([['type', str('base64')], ['media_type', str('image/png')], ['data', url]])], ['input', text], ['content', text]]));
const tool = fc
  .tuple(fc.oneof(fc.constant(str('f')), prototypeTrap, hostile), anyValue, fc.array(fc.oneof(prototypeTrap, anyValue), { maxLength: 3 }), fc.oneof(fc.constant(str('string')), prototypeTrap, hostile))
  .map(([name, description, enumItems, type]) => {
    const parameters = obj([['type', str('object')], ['properties', obj([['p', obj([['type', type], ['description', description], ['enum', arr(enumItems)], ['items', description]])]])]]);
    return obj([['type', str('function')], ['name', name], ['description', description], ['input_schema', parameters], ['function', obj([['name', name], ['description', description], ['parameters', parameters]])]]);
  });

const tokens = fc.oneof(fc.integer({ min: 0, max: 64 }).map(String), oddNumber, hostile);
const messages = fc.oneof(
  { weight: 3, arbitrary: fc.constant(arr([obj([['role', str('user')], ['content', str('hi')]])])) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool').map(str), hostile), fc.oneof(oddString, hostile)), { maxLength: 3 }).map((ms) => arr(ms.map(([role, content]) => obj([['role', role], ['content', content]]))))},
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('user', 'assistant').map(str), fc.array(part, { maxLength: 3 }).map(arr)), { minLength: 1, maxLength: 2 }).map((ms) => arr(ms.map(([role, content]) => obj([['role', role], ['content', content]])))) },
  { weight: 2, arbitrary: hostile },
);

// Optional field: absent, or present with a value (duplicated now and then, last one different).
const field = (name: string, value: fc.Arbitrary<JsonText>): fc.Arbitrary<Array<[string, JsonText]>> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant<Array<[string, JsonText]>>([]) },
    { weight: 5, arbitrary: value.map((v): Array<[string, JsonText]> => [[name, v]]) },
    { weight: 1, arbitrary: fc.tuple(value, value).map(([a, b]): Array<[string, JsonText]> => [[name, a], [name, b]]) },
  );

export const requestBodyObject: fc.Arbitrary<JsonText> = fc
  .tuple(
    field('model', fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...modelNames).map(str) }, { weight: 1, arbitrary: hostile })),
    field('messages', messages),
    field('prompt', fc.oneof(fc.constant(str('hi')), hostile)),
    field('input', fc.oneof(fc.constant(str('hi')), hostile)),
    field('max_tokens', tokens),
    field('max_completion_tokens', tokens),
    field('max_output_tokens', tokens),
    field('n', tokens),
    field('stream', fc.oneof(fc.constantFrom('true', 'false'), hostile)),
    field('tools', fc.oneof(fc.array(tool, { maxLength: 2 }).map(arr), hostile)),
    field('functions', fc.array(tool, { maxLength: 1 }).map(arr)),
    field('system', fc.oneof(fc.constant(str('be brief')), fc.array(part, { maxLength: 2 }).map(arr), hostile)),
    field('stream_options', fc.oneof(fc.constantFrom('{"include_usage":true}', '{"include_usage":false}', '{"include_usage":"yes"}'), hostile)),
    fc.array(fc.tuple(fc.string({ maxLength: 10 }), hostile), { maxLength: 2 }),
  )
  .chain((parts) => fc.shuffledSubarray(parts.flat(), { minLength: parts.flat().length }).map(obj));

const brokenText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\n', 'null', '[]', '"gpt-4o-mini"', '42', 'true', '{', '}', '{"model":', '{"model":"gpt-4o-mini",}', "{'model':'gpt-4o-mini'}", 'NaN', '{"model":NaN}', '\uFEFF{"model":"gpt-4o-mini","messages":[]}', '{"model":"gpt-4o-mini"}garbage', '{"__proto__":{"model":"x"},"model":"gpt-4o-mini","messages":[]}', '{"constructor":{"prototype":{"polluted":1}}}'),
  fc.string({ maxLength: 40 }),
  requestBodyObject.chain((text) => fc.nat(Math.max(0, text.length - 1)).map((cut) => text.slice(0, cut))),
  deep,
);

export const requestBody: fc.Arbitrary<string> = fc.oneof({ weight: 6, arbitrary: requestBodyObject }, { weight: 2, arbitrary: brokenText }, { weight: 1, arbitrary: anyValue });

// A rich body the route accepts (parts, images, tool calls, tool schemas) with one or two values
// anywhere inside it replaced by hostile ones: reaches the token counters, the meter and the
// upstream, where a wholly random body is refused at validation.
const image = pngBytes(64, 64);
const toolSchema = { type: 'object', properties: { p: { type: 'string', enum: ['a', 'b'], description: 'd' }, q: { type: 'array', items: { type: 'number' } } } };
const openaiChat = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'be brief', name: 'sys' },
    { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: image, detail: 'low' } }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"p":"a"}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'ok' },
  ],
  tools: [{ type: 'function', function: { name: 'f', description: 'a tool.', parameters: toolSchema } }],
  max_tokens: 8,
  n: 1,
  stream: false,
};
const anthropicMessages = {
  model: 'claude-haiku-4-5',
  system: [{ type: 'text', text: 'be brief' }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: image.slice(image.indexOf(',') + 1) } }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { p: 'a' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'ok' }] }] },
  ],
  tools: [{ name: 'f', description: 'a tool', input_schema: toolSchema }],
  max_tokens: 8,
};
const richBodies: Record<string, object> = {
  '/v1/chat/completions': openaiChat,
  '/v1/completions': { model: 'gpt-3.5-turbo-instruct', prompt: ['hi', 'there'], max_tokens: 8, n: 1 },
  '/v1/embeddings': { model: 'text-embedding-3-small', input: ['hi', 'there'] },
  '/v1/responses': { model: 'gpt-4o-mini', instructions: 'be brief', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_image', image_url: image }] }], tools: [{ type: 'function', name: 'f', parameters: toolSchema }], max_output_tokens: 8 },
  '/v1/messages': anthropicMessages,
  '/v1/messages/count_tokens': { ...anthropicMessages, max_tokens: undefined },
  '/v1/token_count': openaiChat,
};

type Path = Array<string | number>;
function pathsOf(value: unknown, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [at];
  const children = Array.isArray(value) ? value.map((v, i) => pathsOf(v, [...at, i])) : Object.entries(value).map(([k, v]) => pathsOf(v, [...at, k]));
  return [at, ...children.flat()];
}
const marker = (i: number) => `\u0000hostile${i}\u0000`;
function withValueAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(root) ? [...root] : { ...(root as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = withValueAt(copy[path[0]!], path.slice(1), value);
  return copy;
}

// The JSON of `base` with one or two values anywhere inside it replaced (or removed).
export const mutatedJson = (base: object): fc.Arbitrary<string> => {
  const paths = pathsOf(base).filter((p) => p.length > 0);
  return fc.array(fc.tuple(fc.constantFrom(...paths), fc.oneof(prototypeTrap, hostile, fc.constant(undefined))), { minLength: 1, maxLength: 2 }).map((changes) => {
    let body: unknown = base;
    changes.forEach(([path, value], i) => (body = withValueAt(body, path, value === undefined ? undefined : marker(i))));
    let text = JSON.stringify(body);
    changes.forEach(([, value], i) => (text = text.replace(JSON.stringify(marker(i)), value ?? 'null')));
    return text;
  });
};

export const nearlyValidBody = (route: string): fc.Arbitrary<string> => mutatedJson(richBodies[route] ?? openaiChat);

// ---- request targets ----

export const meteredPaths = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/messages'] as const;
const knownPaths = [...meteredPaths, '/v1/messages/count_tokens', '/v1/token_count', '/v1/models', '/v1/usage', '/health', '/ready', '/metrics', '/admin/v1/users', '/admin/v1/openapi.json', '/v1/files', '/'] as const;

const encodeChar = (c: string, upper: boolean) => {
  const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex}`;
};

type PathMutation = (path: string, at: number, upper: boolean) => string;
const slashes = (path: string) => [...path.matchAll(/\//g)].map((m) => m.index);
const atSlash = (path: string, at: number) => {
  const s = slashes(path);
  return s.length === 0 ? 0 : s[at % s.length]!;
};
const mutations: Record<string, PathMutation> = {
  dotSegment: (p, at) => `${p.slice(0, atSlash(p, at))}/.${p.slice(atSlash(p, at))}`,
  dotDot: (p, at) => `${p.slice(0, atSlash(p, at))}/x/..${p.slice(atSlash(p, at))}`,
  encodedDot: (p, at, up) => `${p.slice(0, atSlash(p, at))}/${encodeChar('.', up)}${p.slice(atSlash(p, at))}`,
  encodedDotDot: (p, at, up) => `${p.slice(0, atSlash(p, at))}/x/${encodeChar('.', up)}${encodeChar('.', up)}${p.slice(atSlash(p, at))}`,
  doubleSlash: (p, at) => `${p.slice(0, atSlash(p, at))}/${p.slice(atSlash(p, at))}`,
  encodedSlash: (p, at, up) => (atSlash(p, at) === 0 ? p : `${p.slice(0, atSlash(p, at))}${encodeChar('/', up)}${p.slice(atSlash(p, at) + 1)}`),
  backslash: (p, at) => (atSlash(p, at) === 0 ? p : `${p.slice(0, atSlash(p, at))}\\${p.slice(atSlash(p, at) + 1)}`),
  encodedBackslash: (p, at, up) => (atSlash(p, at) === 0 ? p : `${p.slice(0, atSlash(p, at))}${encodeChar('\\', up)}${p.slice(atSlash(p, at) + 1)}`),
  encodedLetter: (p, at, up) => {
    const i = 1 + (at % Math.max(1, p.length - 1));
    return /[a-z]/i.test(p[i] ?? '') ? p.slice(0, i) + encodeChar(p[i]!, up) + p.slice(i + 1) : p;
  },
  upperCase: (p, at) => {
    const i = at % Math.max(1, p.length);
    return p.slice(0, i) + p.slice(i).toUpperCase();
  },
  trailingSlash: (p) => `${p}/`,
  trailingDot: (p) => `${p}/.`,
  semicolon: (p) => `${p};x=1`,
  malformedPercent: (p, at) => `${p.slice(0, atSlash(p, at) + 1)}%${p.slice(atSlash(p, at) + 1)}`,
  badEscape: (p, at) => `${p.slice(0, atSlash(p, at) + 1)}%zz%e0%a4${p.slice(atSlash(p, at) + 1)}`,
  nulByte: (p) => `${p}%00`,
  longSegment: (p, at) => `${p.slice(0, atSlash(p, at))}/${'a'.repeat(3000 + (at % 3000))}${p.slice(atSlash(p, at))}`,
  manySegments: (p) => `${'/.'.repeat(2000)}${p}`,
};
const mutationNames = Object.keys(mutations);

export const hostileTarget = (bases: readonly string[]): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom(...bases),
      fc.array(fc.tuple(fc.constantFrom(...mutationNames), fc.nat(50), fc.boolean()), { maxLength: 3 }),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('?', '?a=b', '?a=%zz', '?model=gpt-4o&x=../..', '#frag', '?%', `?q=${'x'.repeat(4000)}`) },
        { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `?${encodeURIComponent(s)}`) },
      ),
    )
    .map(([base, ms, query]) => ms.reduce((p, [name, at, upper]) => mutations[name]!(p, at, upper), base) + query);

export const anyTarget: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: hostileTarget(knownPaths) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'http://127.0.0.1/v1/chat/completions', 'http://evil.example/v1/chat/completions', '/v1/chat/completions/../../admin/v1/users') },
  // Visible ASCII only: anything else is refused by the HTTP parser (its own property).
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 }).map((s) => `/${s}`) },
);

// ---- headers ----

export type HeaderList = Array<[string, string]>;

const visible = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
// UTF-8 text goes out as its bytes: obs-text to the HTTP parser.
const utf8 = fc.string({ unit: 'grapheme', maxLength: 12 });

export const authorization = (key: string): fc.Arbitrary<HeaderList> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant([['authorization', `Bearer ${key}`]] as HeaderList) },
    fc.constant([] as HeaderList),
    fc.constantFrom(`bearer ${key}`, `BEARER ${key}`, `Bearer  ${key}`, `Bearer ${key} `, key, `Bearer ${key}x`, `Bearer ${key.slice(0, -1)}`, 'Bearer ', 'Bearer', 'Basic dGc6dGc=', `Bearer ${key}, Bearer tg-other`, `Bearer tg-${'a'.repeat(6000)}`, `Token ${key}`).map((v): HeaderList => [['authorization', v]]),
    fc.constant([['authorization', 'Bearer tg-wrong'], ['authorization', `Bearer ${key}`]] as HeaderList),
    fc.constant([['x-api-key', key]] as HeaderList),
    fc.constant([['x-api-key', 'tg-wrong'], ['authorization', `Bearer ${key}`]] as HeaderList),
    fc.oneof(visible, utf8).map((v): HeaderList => [['authorization', v]]),
    fc.oneof(visible, utf8).map((v): HeaderList => [['x-api-key', v]]),
    fc.oneof(visible, utf8).map((v): HeaderList => [['authorization', `Bearer ${v}`]]),
  );

const optional = (name: string, values: fc.Arbitrary<string>): fc.Arbitrary<HeaderList> =>
  fc.oneof(fc.constant([] as HeaderList), values.map((v): HeaderList => [[name, v]]));

export const otherHeaders: fc.Arbitrary<HeaderList> = fc
  .tuple(
    optional('anthropic-version', fc.oneof(fc.constantFrom('2023-06-01', '', '1999-01-01', '2023-06-01, 2023-01-01'), visible)),
    optional('content-type', fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''), visible)),
    optional('x-session-id', fc.oneof(fc.constantFrom('', 's1', ' s1 ', '../../etc/passwd', '%00', 'a'.repeat(5000), 's1, s2'), visible, utf8)),
    optional('content-encoding', fc.constantFrom('gzip', 'br', 'identity', 'deflate')),
    optional('accept', fc.constantFrom('text/event-stream', '*/*', 'application/json', '')),
    optional('x-request-id', fc.oneof(visible, utf8)),
    optional('anthropic-beta', visible),
    optional('openai-beta', visible),
  )
  .map((parts) => parts.flat());
