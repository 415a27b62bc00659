// The one normalisation of a request target, done before any routing. Routing, scopes and the
// upstream all see the same path only if nothing downstream can read it differently, so any target
// that a normaliser would change (dot segments, encoded separators or dots, backslashes, empty
// segments, malformed %-escapes, absolute-form URLs) is refused rather than rewritten.
import { GatewayError } from '../errors/catalogue.js';

export interface RequestTarget {
  // The path exactly as sent, known to be in normal form.
  readonly path: string;
  // The query string including its '?', or ''.
  readonly search: string;
}

// %2e '.', %2f '/', %5c '\', %00: escapes that would turn into separators or dots once decoded.
const encodedSeparator = /%(2e|2f|5c|00)/i;
const malformedEscape = /%(?![0-9a-f]{2})/i;
// Control characters and spaces never appear in a route; Node's parser lets some through.
const controlChar = /[\u0000-\u0020\u007f]/;

const invalid = (why: string) => new GatewayError('invalid_path', `The request path is not in normal form: ${why}.`);

export function parseRequestTarget(url: string | undefined): RequestTarget {
  const target = url ?? '';
  if (!target.startsWith('/')) throw invalid('it must start with "/"');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q);
  if (path.includes('\\')) throw invalid('backslash');
  if (controlChar.test(path)) throw invalid('control character or space');
  if (malformedEscape.test(target)) throw invalid('malformed %-escape');
  if (encodedSeparator.test(path)) throw invalid('encoded dot, slash or backslash');
  const segments = path.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '.' || segment === '..') throw invalid('dot segment');
    // An empty segment is "//"; a single trailing slash is left to the route lookup (no route has one).
    if (segment === '' && i < segments.length - 1) throw invalid('empty segment');
  }
  return { path, search };
}
