// Google's error shape, {"error":{"code":<HTTP status>,"message","status":<canonical code>}}, which
// Google's SDKs read. Google's `code` is the HTTP status, so Tollgate's stable code goes where
// Google puts machine-readable reasons: an ErrorInfo detail.
import type { ErrorDialect } from '../provider.js';

const statusByHttp: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'INVALID_ARGUMENT',
  408: 'DEADLINE_EXCEEDED',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  431: 'INVALID_ARGUMENT',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export const errors: ErrorDialect = {
  render: (e) => ({
    error: {
      code: e.status,
      message: e.message,
      status: statusByHttp[e.status] ?? 'INTERNAL',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: e.code, domain: 'tollgate' }],
    },
  }),
};
