// Anthropic's error shape: {"type":"error","error":{"type","message"}}, plus Tollgate's stable
// `code` (extra fields are ignored by Anthropic's SDKs).
import type { ErrorDialect } from '../provider.js';

const typeByStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

export const errors: ErrorDialect = {
  render: (e) => ({ type: 'error', error: { type: typeByStatus[e.status] ?? 'api_error', message: e.message, code: e.code } }),
};
