import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/catalogue.js';
import { acceptsFast, deploymentRequestSchema, parseDeploymentRequestBody, parseRequestBody, requestSchema } from '../../src/server/request-schema.js';

const base = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
// Every field the gateway reads, with values of every JSON type and the edges of each rule.
const values: unknown[] = [undefined, null, true, false, 0, 1, -1, 1.5, 2 ** 53, 1e300, '', 'x', '16', [], {}, { include_usage: true }, { include_usage: null }, { include_usage: 'yes' }];
const fields = ['model', 'stream', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n', 'best_of', 'background', 'stream_options'];
const bodies: unknown[] = [null, [], 'text', 7, {}, base];
for (const field of fields) for (const value of values) bodies.push({ ...base, [field]: value });

const errorOf = (f: () => unknown) => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err as GatewayError;
  }
};

describe('metered request body', () => {
  it('the hand check accepts only bodies the schema accepts, unchanged', () => {
    for (const [schema, modelInBody] of [[requestSchema, true], [deploymentRequestSchema, false]] as const) {
      for (const body of bodies) {
        if (!acceptsFast(body, modelInBody)) continue;
        const parsed = schema.safeParse(body);
        expect(parsed.success, JSON.stringify(body)).toBe(true);
        expect(parsed.data).toEqual(body);
      }
    }
  });

  it('the common bodies take the hand check', () => {
    expect(acceptsFast({ ...base, max_tokens: 16, stream: true, stream_options: { include_usage: true } }, true)).toBe(true);
    expect(acceptsFast({ messages: [], max_completion_tokens: null }, false)).toBe(true);
  });

  it('a bad body gets the schema message and path', () => {
    const cases: Array<[unknown, string, string | null]> = [
      [{ ...base, model: '' }, 'model: model must be a non-empty string', 'model'],
      [{ ...base, model: 5 }, 'model: Invalid input: expected string, received number', 'model'],
      [{ ...base, max_tokens: -1 }, 'max_tokens: Too small: expected number to be >=0', 'max_tokens'],
      [{ ...base, n: 0 }, 'n: Too small: expected number to be >0', 'n'],
      [{ ...base, stream: null }, 'stream: Invalid input: expected boolean, received null', 'stream'],
      [{ ...base, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage: Invalid input: expected boolean, received string', 'stream_options.include_usage'],
      [[], 'The request body must be a JSON object: Invalid input: expected object, received array', null],
    ];
    for (const [body, message, param] of cases) {
      const error = errorOf(() => parseRequestBody(Buffer.from(JSON.stringify(body))));
      expect(error).toBeInstanceOf(GatewayError);
      expect({ code: error!.code, message: error!.message, param: error!.param }).toEqual({ code: 'invalid_request', message, param });
    }
  });

  it('a body that is not JSON is invalid_json on both routes', () => {
    expect(errorOf(() => parseRequestBody(Buffer.from('{')))?.code).toBe('invalid_json');
    expect(errorOf(() => parseDeploymentRequestBody(Buffer.from('{')))?.code).toBe('invalid_json');
  });
});
