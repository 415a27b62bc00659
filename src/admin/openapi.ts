// The OpenAPI 3.1 document of the admin API, generated from the route list so it cannot drift
// from what the router accepts.
import { z } from 'zod';
import type { Route } from './route.js';

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: 'string' } } } },
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

function queryParameters(schema: z.ZodType | undefined) {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: s }));
}

export function buildOpenApi(routes: readonly Route[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = `/admin/v1${r.path.replace(/:(\w+)/g, '{$1}')}`;
    const pathParams = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      'x-permission': r.permission,
      parameters: [...pathParams, ...queryParameters(r.query)],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) } } } } : {}),
      responses: {
        [String(r.status ?? 200)]: { description: 'Success' },
        400: errorResponse('Invalid request (the message names the field)'),
        401: errorResponse('No or invalid admin credential'),
        403: errorResponse('The role may not do this, or the resource is outside its reach'),
        404: errorResponse('No such resource'),
        409: errorResponse('Conflicts with the current state'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tollgate admin API', version: '1' },
    servers: [{ url: '/' }],
    security: [{ adminKey: [] }, { bearer: [] }],
    components: {
      securitySchemes: {
        adminKey: { type: 'apiKey', in: 'header', name: 'x-admin-key' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An admin key or a JWT from the configured issuer' },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}
