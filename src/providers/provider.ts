// The contract every provider folder fulfils: data plus pure functions, no I/O. The proxy asks a
// provider how to address the upstream, how to read usage, and how to shape errors for clients.
import type { ProviderConfig } from '../config/schema.js';
import type { GatewayError } from '../errors/catalogue.js';
import type { SseEvent, SseSplitter } from '../proxy/sse.js';
import type { Endpoint, Usage } from './types.js';

export type JsonObject = Record<string, unknown>;

export interface UpstreamTarget {
  readonly path: string;
  readonly headers: Record<string, string>;
}

export interface PreparedBody {
  // The body to send; undefined means the client's bytes go up unchanged.
  readonly body: JsonObject | undefined;
  // True when the gateway asked for a usage chunk the client did not, so it must be hidden.
  readonly hideUsageEvent: boolean;
}

export interface StreamUsageReader {
  onEvent(event: SseEvent): void;
  // The most the stream has reported so far, each kind of token at its largest report (see
  // largerUsage), final or not.
  usage(): Usage | undefined;
  // True once the event that closes the count has arrived: before it, usage() is a lower bound
  // (Anthropic's message_start says output_tokens: 1 whatever follows).
  final(): boolean;
}

// How a provider frames a streamed answer, when not as Server-Sent Events (Bedrock's binary AWS
// event stream): the relay splits and parses its frames into the same events usage readers take.
export interface StreamFraming {
  // The Content-Type of a streamed answer (lowercase type/subtype).
  readonly mediaType: string;
  createSplitter(): SseSplitter;
  parse(raw: Buffer): SseEvent;
}

// The request as it will go upstream, for providers that sign each one.
export interface OutgoingRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

export interface Provider {
  readonly endpoints: ReadonlySet<Endpoint>;
  // Absent: streams are Server-Sent Events.
  readonly streamFraming?: StreamFraming;
  // For upstreams that authenticate each request by signing it (SigV4): the headers to send, the
  // signature's among them. Absent: credentials() alone authenticates.
  sign?(config: ProviderConfig, request: OutgoingRequest): Promise<Record<string, string>>;
  // clientSearch: the client's query string, for providers whose query picks the answer's format
  // (Gemini's alt=sse); only parameters the provider names are carried over.
  target(config: ProviderConfig, endpoint: Endpoint, upstreamModel: string, clientSearch?: string): UpstreamTarget;
  // The provider's credential headers, which replace the client's Tollgate key.
  credentials(config: ProviderConfig): Record<string, string>;
  // Upstream path for a raw pass-through of the client's path (query string included).
  rawPath(config: ProviderConfig, clientPath: string): string;
  prepareBody(endpoint: Endpoint, body: JsonObject, upstreamModel: string, clientModel: string): PreparedBody;
  // The largest output cap the body sets, per choice: every cap field the upstream might honour.
  maxOutputTokens(endpoint: Endpoint, body: JsonObject): number | undefined;
  // Sets every output cap field present (and the endpoint's own) to maxOutputTokens per choice.
  withMaxOutputTokens(endpoint: Endpoint, body: JsonObject, maxOutputTokens: number): JsonObject;
  // How many choices the upstream generates (n, best_of), each up to the output cap.
  outputChoices(endpoint: Endpoint, body: JsonObject): number;
  // True when the answer is produced later and fetched through another route (background
  // responses), so settling this request cannot see the output.
  defersOutput(endpoint: Endpoint, body: JsonObject): boolean;
  usageFromBody(endpoint: Endpoint, body: unknown): Usage | undefined;
  streamUsageReader(endpoint: Endpoint): StreamUsageReader;
  // True for the trailing usage-only event that the gateway requested on the client's behalf.
  isUsageOnlyEvent(event: SseEvent): boolean;
  // Text the model produced, for counting when the upstream reported no usage.
  deliveredText(endpoint: Endpoint, events: readonly SseEvent[] | undefined, body: unknown): string;
}

// A client API answered by a provider that speaks another (an OpenAI client asking for a Claude
// model): pure per-request functions in the target provider's folder. The gateway meters the
// translated request as the target's own, with the target's real usage.
export interface TranslationContext {
  readonly upstreamModel: string;
  // The name the client asked for, echoed back in answers.
  readonly clientModel: string;
  // The catalog's output cap, for targets that require one (Anthropic's max_tokens).
  readonly maxOutputTokens: number;
}

export interface Translation {
  // The target provider's endpoint the translated request goes to.
  endpoint(body: JsonObject): Endpoint;
  // The client's query for the target (Gemini streams ask for alt=sse).
  readonly search?: (body: JsonObject) => string;
  // The client's body in the target's format; throws invalid_request for what cannot be translated.
  request(body: JsonObject, ctx: TranslationContext): JsonObject;
  // A new translator of the target's answer back into the client's format, one per request.
  response(clientBody: JsonObject, ctx: TranslationContext): ResponseTranslator;
}

export interface ResponseTranslator {
  // A whole non-streamed answer.
  body(upstream: unknown): unknown;
  // The client's SSE bytes for one upstream event ('' for none).
  event(event: SseEvent): string;
  // What the client's stream needs after the upstream's ends (OpenAI's [DONE]).
  end(): string;
}

// The error dialect of a route: what shape a client of that API expects.
export interface ErrorDialect {
  render(error: GatewayError): JsonObject;
  // Headers the dialect's clients read the error from (Bedrock's x-amzn-errortype).
  headers?(error: GatewayError): Record<string, string>;
}

export const asObject = (value: unknown): JsonObject | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;

export const asCount = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;

// Text for a value taken from a client's or upstream's JSON. String() and template literals call
// the value's own `toString`, and a parsed object can carry a `toString` key that is no function
// ({"toString":1}), which throws; objects and arrays are written as the JSON they came as instead.
export const asText = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : (JSON.stringify(value) ?? '');

export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

// The path part of a provider's base URL, parsed once per config object rather than per request.
const basePaths = new WeakMap<ProviderConfig, string>();
export function basePath(config: ProviderConfig): string {
  let path = basePaths.get(config);
  if (path === undefined) {
    path = new URL(config.baseUrl).pathname.replace(/\/$/, '');
    basePaths.set(config, path);
  }
  return path;
}

export function withQuery(path: string, query: Readonly<Record<string, string>>): string {
  const entries = Object.entries(query);
  return entries.length === 0 ? path : `${path}?${new URLSearchParams(entries).toString()}`;
}
