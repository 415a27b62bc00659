// What every answer the gateway makes itself must look like, as one check the fuzz properties
// share: never 500, and a non-2xx answer is a catalogued error in the provider's shape with a
// request id. Returns what is wrong (undefined when nothing is), so a property can print it.
import { errorCatalogue } from '../../../src/errors/catalogue.js';
import type { RawResponse } from './raw-http.js';

export type Dialect = 'openai' | 'anthropic';

const isString = (v: unknown): v is string => typeof v === 'string';

function catalogued(status: number, code: unknown): string | undefined {
  if (!isString(code) || !(code in errorCatalogue)) return `code ${JSON.stringify(code)} is not in the error catalogue`;
  const expected = errorCatalogue[code as keyof typeof errorCatalogue].status;
  return expected === status ? undefined : `code ${code} is catalogued with status ${expected}, answered ${status}`;
}

function shapeProblem(status: number, body: unknown, dialect: Dialect | 'either'): string | undefined {
  const b = body as { type?: unknown; error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } } | null;
  const error = b?.error;
  const openai = !!error && b?.type === undefined && isString(error.message) && isString(error.type) && isString(error.code) && (error.param === null || isString(error.param));
  const anthropic = !!error && b?.type === 'error' && isString(error.message) && isString(error.type) && isString(error.code);
  if (dialect === 'openai' && !openai) return 'not in the OpenAI error shape {error:{message,type,param,code}}';
  if (dialect === 'anthropic' && !anthropic) return "not in Anthropic's error shape {type:'error',error:{type,message,code}}";
  if (dialect === 'either' && !openai && !anthropic) return 'in neither provider error shape';
  return catalogued(status, error?.code);
}

// `dialect` is the shape the client asked for; 'either' where both are defensible.
export function gatewayAnswerProblem(res: RawResponse, dialect: Dialect | 'either'): string | undefined {
  if (res.status >= 500 && res.status !== 502 && res.status !== 503 && res.status !== 504) return `status ${res.status}`;
  if (res.status < 400) return undefined;
  if (!res.headers['x-request-id']) return `status ${res.status} without x-request-id`;
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `status ${res.status} with a body that is not JSON: ${JSON.stringify(res.body.slice(0, 120))}`;
  }
  const problem = shapeProblem(res.status, body, dialect);
  return problem && `status ${res.status} ${problem}: ${res.body.slice(0, 300)}`;
}
