import type { Middleware } from 'koa';
import { isHttpError } from 'http-errors';
import type { Logger } from '../logging/createLogger';
import { isDependencyFailure } from './dependencyFailure';

/** Thrown (through http-errors) with a snake_case code that API clients can branch on. */
export interface CodedErrorProps {
  code?: string;
}

/**
 * The one place where errors become answers: JSON `{"error":{"code","message"}}` for the API and
 * plain text elsewhere. MySQL or Redis being unreachable is a 503 `service_unavailable` (the client
 * may retry); anything else that is not an http-error is logged and answered with a 500 that
 * reveals nothing. WeChat and H5 routes map their own failures before they reach this point.
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      // An unknown API path, or a method its route does not take (the router's 405/501, with Allow),
      // is answered in the API's error shape too.
      if (ctx.respond !== false && ctx.body == null && ctx.path.startsWith('/api/') && ctx.method !== 'OPTIONS') {
        const status = ctx.status;
        if (status === 404) ctx.body = { error: { code: 'not_found', message: 'no such endpoint' } };
        if (status === 405)
          ctx.body = {
            error: {
              code: 'method_not_allowed',
              message: `${ctx.method} is not allowed here; allowed: ${ctx.response.get('Allow')}`,
            },
          };
        if (status === 501)
          ctx.body = { error: { code: 'not_implemented', message: `${ctx.method} is not a method this API knows` } };
        ctx.status = status;
      }
    } catch (error) {
      const answer = errorAnswer(error, ctx.state.logger ?? logger);
      ctx.status = answer.status;
      ctx.set(answer.headers);
      if (ctx.path.startsWith('/api/') || ctx.accepts('json', 'text') === 'json') {
        ctx.body = answer.body;
      } else {
        ctx.type = 'text/plain; charset=utf-8';
        ctx.body = answer.body.error.message;
      }
    }
  };
}

/**
 * What an error becomes (status, headers, the JSON error body); an error that is not an http-error
 * is logged here. For answers written outside the middleware chain (a held long-poll) too.
 */
export function errorAnswer(
  error: unknown,
  logger: Logger,
): { status: number; headers: Record<string, string>; body: { error: { code: string; message: string } } } {
  const known = isHttpError(error) && error.expose;
  const unavailable = !isHttpError(error) && isDependencyFailure(error);
  const status = isHttpError(error) ? error.status : unavailable ? 503 : 500;
  const code =
    known && typeof (error as CodedErrorProps).code === 'string'
      ? (error as CodedErrorProps).code!
      : defaultCode(status);
  const message = known
    ? (error as Error).message
    : unavailable
      ? 'temporarily unavailable, try again shortly'
      : 'internal error';
  if (!known) logger.error({ err: error }, 'request failed');
  const headers: Record<string, string> = {};
  if (unavailable) headers['Retry-After'] = '5';
  if (isHttpError(error) && error.headers) Object.assign(headers, error.headers);
  return { status, headers, body: { error: { code, message } } };
}

function defaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 429:
      return 'too_many_requests';
    case 503:
      return 'service_unavailable';
    default:
      return status >= 500 ? 'internal_error' : 'error';
  }
}
