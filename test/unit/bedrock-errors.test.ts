// Every error in the catalogue, rendered for a Bedrock client: the AWS SDK takes the exception's
// name from x-amzn-errortype and its message from the body; Tollgate's stable code rides in `code`.
import { describe, expect, it } from 'vitest';
import { errorCatalogue, type ErrorCode, GatewayError } from '../../src/errors/catalogue.js';
import { errorDialects } from '../../src/providers/index.js';

// The exceptions Bedrock's runtime API declares (and the two its front door answers auth with).
const declared = new Set(['ValidationException', 'UnrecognizedClientException', 'AccessDeniedException', 'ResourceNotFoundException', 'ModelTimeoutException', 'ConflictException', 'ThrottlingException', 'ServiceUnavailableException', 'InternalServerException']);

describe('the Bedrock error dialect', () => {
  it.each(Object.keys(errorCatalogue) as ErrorCode[])('renders %s as a declared Bedrock exception with the stable code', (code) => {
    const error = new GatewayError(code);
    const body = errorDialects.bedrock.render(error) as { __type: string; message: string; code: string };
    expect(body).toEqual({ __type: body.__type, message: error.message, code });
    expect(declared.has(body.__type)).toBe(true);
    expect(errorDialects.bedrock.headers!(error)).toEqual({ 'x-amzn-errortype': `${body.__type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  });

  it('says ThrottlingException for budget and rate refusals, UnrecognizedClientException for key problems', () => {
    expect(errorDialects.bedrock.render(new GatewayError('budget_exceeded'))).toMatchObject({ __type: 'ThrottlingException' });
    expect(errorDialects.bedrock.render(new GatewayError('rate_limited'))).toMatchObject({ __type: 'ThrottlingException' });
    expect(errorDialects.bedrock.render(new GatewayError('invalid_api_key'))).toMatchObject({ __type: 'UnrecognizedClientException' });
    expect(errorDialects.bedrock.render(new GatewayError('model_not_allowed'))).toMatchObject({ __type: 'AccessDeniedException' });
  });
});
