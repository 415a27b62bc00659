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
const scalar: fc.Arbitrary<JsonText> = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '{}', '[]'),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  oddNumber,
  oddString,
);
// Nested 40..150 deep: around and past the gateway's 64-level cap.
export const deep: fc.Arbitrary<JsonText> = fc
  .tuple(fc.integer({ min: 40, max: 150 }), fc.constantFrom('[', '{"a":'), scalar)
  .map(([depth, open, leaf]) => open.repeat(depth) + leaf + (open === '[' ? ']' : '}').repeat(depth));
const anyValue: fc.Arbitrary<JsonText> = fc.letrec<{ v: JsonText }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 3 }).map(arr), fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('v')), { maxLength: 3 }).map(obj)),
})).v;
const hostile = fc.oneof({ weight: 4, arbitrary: anyValue }, { weight: 1, arbitrary: deep });

const tokens = fc.oneof(fc.integer({ min: 0, max: 64 }).map(String), oddNumber, hostile);
const messages = fc.oneof(
  { weight: 3, arbitrary: fc.constant(arr([obj([['role', str('user')], ['content', str('hi')]])])) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool').map(str), hostile), fc.oneof(oddString, hostile)), { maxLength: 3 }).map((ms) => arr(ms.map(([role, content]) => obj([['role', role], ['content', content]]))))},
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
