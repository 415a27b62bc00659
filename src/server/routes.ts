// The metered routes: path -> endpoint and the error dialect its clients expect.
import type { IncomingHttpHeaders } from 'node:http';
import type { DialectName } from '../providers/index.js';
import type { Endpoint } from '../providers/types.js';

export interface MeteredRoute {
  readonly endpoint: Endpoint;
  readonly dialect: DialectName;
}

export const meteredRoutes: ReadonlyMap<string, MeteredRoute> = new Map([
  ['/v1/chat/completions', { endpoint: 'chat', dialect: 'openai' }],
  ['/v1/completions', { endpoint: 'completions', dialect: 'openai' }],
  ['/v1/embeddings', { endpoint: 'embeddings', dialect: 'openai' }],
  ['/v1/responses', { endpoint: 'responses', dialect: 'openai' }],
  ['/v1/messages', { endpoint: 'messages', dialect: 'anthropic' }],
]);

// Anthropic's SDK always sends anthropic-version; OpenAI's never does.
export const dialectOf = (headers: IncomingHttpHeaders): DialectName =>
  headers['anthropic-version'] === undefined ? 'openai' : 'anthropic';
