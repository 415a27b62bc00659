// Every error a client can see: a stable snake_case code, its HTTP status, and the OpenAI error
// type. Provider folders render these in their own shape; anything not listed is internal_error.
export const errorCatalogue = {
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON.' },
  invalid_path: { status: 400, type: 'invalid_request_error', message: 'The request path is not in normal form.' },
  invalid_request: { status: 400, type: 'invalid_request_error', message: 'The request body is invalid.' },
  background_unmetered: { status: 400, type: 'invalid_request_error', message: 'Background responses cannot be metered while budgets apply; send the request without background: true.' },
  session_required: { status: 400, type: 'invalid_request_error', message: 'A session budget applies to this key: send the x-session-id header.' },
  missing_api_key: { status: 401, type: 'authentication_error', message: 'No API key provided. Send a Tollgate key as "Authorization: Bearer tg-..." or "x-api-key".' },
  invalid_api_key: { status: 401, type: 'authentication_error', message: 'The API key is not valid.' },
  revoked_api_key: { status: 401, type: 'authentication_error', message: 'The API key has been revoked.' },
  expired_api_key: { status: 401, type: 'authentication_error', message: 'The API key has expired.' },
  admin_unauthorized: { status: 401, type: 'authentication_error', message: 'Send an admin key or a JWT from the configured issuer as "Authorization: Bearer ...".' },
  forbidden: { status: 403, type: 'permission_error', message: 'Your role does not allow this action.' },
  ip_not_allowed: { status: 403, type: 'permission_error', message: 'This API key may not be used from this IP address.' },
  scope_not_allowed: { status: 403, type: 'permission_error', message: "This API key's scopes do not include this endpoint." },
  paid_endpoint_not_metered: { status: 403, type: 'permission_error', message: 'This endpoint costs money and Tollgate does not meter it; it is refused while a budget applies to your key.' },
  model_not_allowed: { status: 403, type: 'permission_error', message: 'This API key may not use the requested model.' },
  route_not_found: { status: 404, type: 'not_found_error', message: 'No such route.' },
  model_not_found: { status: 404, type: 'not_found_error', message: 'The requested model does not exist in the catalog.' },
  not_found: { status: 404, type: 'not_found_error', message: 'No such resource.' },
  invalid_http: { status: 400, type: 'invalid_request_error', message: 'The request is not valid HTTP/1.1.' },
  request_timeout: { status: 408, type: 'invalid_request_error', message: 'The request did not arrive in time.' },
  headers_too_large: { status: 431, type: 'invalid_request_error', message: 'The request headers are too large.' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'Method not allowed on this route.' },
  key_limit_reached: { status: 409, type: 'invalid_request_error', message: 'The user already holds as many active API keys as allowed (admin.maxKeysPerUser); revoke one first.' },
  conflict: { status: 409, type: 'invalid_request_error', message: 'The change conflicts with the current state of the resource.' },
  body_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is too large.' },
  budget_exceeded: { status: 429, type: 'rate_limit_error', message: 'A budget for this request has been exhausted.' },
  rate_limited: { status: 429, type: 'rate_limit_error', message: 'A rate limit for this request has been reached.' },
  internal_error: { status: 500, type: 'api_error', message: 'The gateway hit an internal error.' },
  upstream_error: { status: 502, type: 'api_error', message: 'The upstream provider could not be reached or failed.' },
  auth_unavailable: { status: 503, type: 'api_error', message: 'The key store is unavailable and this key is not cached; the request was refused. Retry shortly.' },
  budget_unavailable: { status: 503, type: 'api_error', message: 'The budget store is unavailable; the request was refused so no budget can be overspent.' },
  tokenizer_overloaded: { status: 503, type: 'api_error', message: 'The gateway is counting too many large prompts; retry shortly.' },
  shutting_down: { status: 503, type: 'api_error', message: 'The gateway is shutting down; retry on another replica.' },
  upstream_timeout: { status: 504, type: 'timeout_error', message: 'The upstream provider timed out.' },
} as const satisfies Record<string, { status: number; type: string; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

// Thrown (or returned) by request stages; the server renders it in the route's provider shape.
export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly status: number;
  readonly type: string;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message ?? errorCatalogue[code].message);
    this.status = errorCatalogue[code].status;
    this.type = errorCatalogue[code].type;
  }
}
