import Ajv, { type ErrorObject, type JSONSchemaType } from 'ajv';
import createHttpError from 'http-errors';
import type { Context } from 'koa';

// One validator compiler for request bodies; allErrors so a client learns every problem at once.
const ajv = new Ajv({ allErrors: true });

/**
 * Compiles `schema` once and returns a reader of `ctx.request.body` as T; anything else is a 400
 * `invalid_request` listing each problem by JSON path. The schema must refuse unknown properties
 * (`additionalProperties: false`), which is checked here when the schema is compiled.
 */
export function validateBody<T>(schema: JSONSchemaType<T>): (ctx: Context) => T {
  const root = schema as { type?: unknown; additionalProperties?: unknown };
  if (root.type === 'object' && root.additionalProperties !== false) {
    throw new Error('validateBody: object schemas must set additionalProperties: false');
  }
  const validate = ajv.compile(schema);
  return (ctx) => {
    const body: unknown = ctx.request.body;
    if (validate(body)) return body;
    throw createHttpError(400, describeProblems(validate.errors ?? []), { code: 'invalid_request' });
  };
}

function describeProblems(errors: ErrorObject[]): string {
  const problems = errors.map((error) => {
    const params = error.params as { missingProperty?: string; additionalProperty?: string };
    if (error.keyword === 'required') return `${error.instancePath}/${params.missingProperty} is required`;
    if (error.keyword === 'additionalProperties')
      return `${error.instancePath}/${params.additionalProperty} is not allowed`;
    return `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`;
  });
  return `invalid request body: ${problems.join('; ')}`;
}
