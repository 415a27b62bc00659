// Every error in the catalogue, rendered for a Gemini client: Google's shape (numeric HTTP code and
// canonical status, which Google's SDKs read) with Tollgate's stable code as the ErrorInfo reason.
import { describe, expect, it } from 'vitest';
import { errorCatalogue, type ErrorCode, GatewayError } from '../../src/errors/catalogue.js';
import { errorDialects } from '../../src/providers/index.js';

const canonical = new Set(['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'NOT_FOUND', 'DEADLINE_EXCEEDED', 'ABORTED', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED', 'UNAVAILABLE', 'INTERNAL']);

describe('the Gemini error dialect', () => {
  it.each(Object.keys(errorCatalogue) as ErrorCode[])('renders %s in Google’s shape with the stable code as reason', (code) => {
    const error = new GatewayError(code);
    const rendered = errorDialects.gemini.render(error) as { error: { code: number; message: string; status: string; details: unknown[] } };
    expect(rendered.error).toEqual({
      code: error.status,
      message: error.message,
      status: rendered.error.status,
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: code, domain: 'tollgate' }],
    });
    expect(canonical.has(rendered.error.status)).toBe(true);
  });

  it('says RESOURCE_EXHAUSTED for budget and rate refusals, UNAUTHENTICATED for key problems', () => {
    expect(errorDialects.gemini.render(new GatewayError('budget_exceeded'))).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    expect(errorDialects.gemini.render(new GatewayError('invalid_api_key'))).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });
});
