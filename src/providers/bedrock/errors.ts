// Bedrock's error shape, which the AWS SDK reads: the exception name in the x-amzn-errortype
// header (and the body's __type), the text in the body's `message`. Tollgate's stable code goes in
// the body's `code`, which the SDK keeps on the exception it throws; the header wins for its name.
import type { ErrorDialect } from '../provider.js';

const exceptionByHttp: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnrecognizedClientException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  405: 'ValidationException',
  408: 'ModelTimeoutException',
  409: 'ConflictException',
  413: 'ValidationException',
  429: 'ThrottlingException',
  431: 'ValidationException',
  503: 'ServiceUnavailableException',
  504: 'ModelTimeoutException',
};

const exception = (status: number): string => exceptionByHttp[status] ?? 'InternalServerException';

export const errors: ErrorDialect = {
  render: (e) => ({ __type: exception(e.status), message: e.message, code: e.code }),
  headers: (e) => ({ 'x-amzn-errortype': `${exception(e.status)}:http://internal.amazon.com/coral/com.amazon.bedrock/` }),
};
