// The id of a response created on the metered /v1/responses route, so the caller's org can own it
// (upstream_objects) and an allow-listed GET /v1/responses/:id (owned: responses) can serve it.
// The relay already hands the provider's usage readers a non-streamed answer parsed whole and
// every event of a stream; wrapping those readers finds the id without a second pass over the
// body and without the relay knowing about ownership. A non-streamed answer too large to keep
// (see relay's maxRetainedBytes) is only scanned for usage, so its id is not seen.
import { asObject, parseJson, type Provider } from '../providers/provider.js';
import type { SseEvent } from '../proxy/sse.js';

// Provider ids are a few dozen characters; anything longer is not an id worth a row.
const maxIdLength = 256;

const idOf = (response: unknown): string | undefined => {
  const object = asObject(response);
  const id = object?.object === 'response' ? object.id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= maxIdLength ? id : undefined;
};

// A Responses stream opens with response.created, which carries the response and its id.
const createdIdOf = (event: SseEvent): string | undefined => {
  if (event.event !== undefined && event.event !== 'response.created') return undefined;
  const json = asObject(parseJson(event.data));
  return json?.type === 'response.created' ? idOf(json.response) : undefined;
};

export function withCreatedResponseId(provider: Provider, onCreated: (id: string) => void): Provider {
  return {
    ...provider,
    usageFromBody(endpoint, body) {
      const id = idOf(body);
      if (id) onCreated(id);
      return provider.usageFromBody(endpoint, body);
    },
    streamUsageReader(endpoint) {
      const reader = provider.streamUsageReader(endpoint);
      let looked = false;
      return {
        onEvent(event) {
          // Only the first event with data is looked at, so a long stream pays for one parse.
          if (!looked && event.data.length > 0) {
            looked = true;
            const id = createdIdOf(event);
            if (id) onCreated(id);
          }
          reader.onEvent(event);
        },
        usage: () => reader.usage(),
        final: () => reader.final(),
      };
    },
  };
}
