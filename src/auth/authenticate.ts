// Turns request headers into a Principal or a GatewayError, and checks the principal's scopes.
// Pure apart from the cache lookup, which asks Postgres only for a key not yet in the cache.
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors/catalogue.js';
import type { EndpointFamily } from '../server/families.js';
import { hashKey } from './keys.js';
import type { PrincipalCache } from './principal-cache.js';
import type { Principal } from './principal.js';

// OpenAI clients send `Authorization: Bearer`, Anthropic clients `x-api-key`, Google clients
// `x-goog-api-key`, Azure OpenAI clients `api-key`.
export function credentialFrom(headers: IncomingHttpHeaders): string | undefined {
  for (const name of ['x-api-key', 'x-goog-api-key', 'api-key']) {
    const apiKey = headers[name];
    if (typeof apiKey === 'string' && apiKey !== '') return apiKey.trim();
  }
  const authorization = headers.authorization;
  if (authorization && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') {
    return authorization.slice(7).trim();
  }
  return undefined;
}

// AWS SDKs sign with SigV4 by default. A signature proves knowledge of a secret the gateway would
// have to hold in the clear to check, and Tollgate keeps only keys' hashes, so it is refused with
// the way that works: the key as a Bedrock API key.
const isSigV4 = (headers: IncomingHttpHeaders): boolean => headers.authorization?.startsWith('AWS4-HMAC-SHA256 ') === true;
const sigV4Refused =
  'Tollgate cannot verify AWS SigV4 signatures. Send your Tollgate key as a Bedrock API key: "Authorization: Bearer tg-...", which the AWS SDK sends when given it as `token` (or in AWS_BEARER_TOKEN_BEDROCK).';

// queryKey: the `key` query parameter, on the routes where Google's clients may send the key so.
export async function authenticate(headers: IncomingHttpHeaders, cache: PrincipalCache, nowMs: number, queryKey?: string): Promise<Principal> {
  const credential = credentialFrom(headers) ?? (queryKey?.trim() || undefined);
  if (!credential && isSigV4(headers)) throw new GatewayError('missing_api_key', sigV4Refused);
  if (!credential) throw new GatewayError('missing_api_key');
  return authenticateHash(hashKey(credential), cache, nowMs);
}

// By the key's hash: the console re-checks a signed-in key without keeping the key.
export async function authenticateHash(keyHash: string, cache: PrincipalCache, nowMs: number): Promise<Principal> {
  let principal: Principal | undefined;
  try {
    principal = await cache.get(keyHash);
  } catch {
    // A key not in the cache could not be checked: saying "invalid" would make clients drop a good key.
    throw new GatewayError('auth_unavailable');
  }
  if (!principal || !principal.userActive) throw new GatewayError('invalid_api_key');
  if (principal.revoked) throw new GatewayError('revoked_api_key');
  if (principal.expiresAtMs !== null && principal.expiresAtMs <= nowMs) throw new GatewayError('expired_api_key');
  return principal;
}

// A key's scopes name endpoint families; one without scopes may call every family.
export function authorize(principal: Principal, family: EndpointFamily): void {
  if (principal.scopes && !principal.scopes.has(family)) {
    throw new GatewayError('scope_not_allowed', `This API key's scopes do not include "${family}".`);
  }
}
