import { bodyParser } from '@koa/bodyparser';
import createHttpError, { isHttpError } from 'http-errors';
import type { Middleware } from 'koa';

export interface JsonBodyOptions {
  /** Largest accepted body in bytes (default 16 KiB: API bodies are a few fields). */
  limitBytes?: number;
}

/**
 * Parses API request bodies as JSON into `ctx.request.body`, whatever the Content-Type says: an API
 * body is JSON or refused (400 invalid_json; 413 payload_too_large over the limit). Mount it on API
 * routers only: /wechat reads its raw body itself.
 */
export function jsonBody(options: JsonBodyOptions = {}): Middleware {
  const limitBytes = options.limitBytes ?? 16 * 1024;
  return bodyParser({
    enableTypes: ['json'],
    detectJSON: () => true,
    jsonLimit: limitBytes,
    onError: (error) => {
      throw toHttpError(error, limitBytes);
    },
  });
}

function toHttpError(error: Error, limitBytes: number): Error {
  const status = isHttpError(error) ? error.status : (error as { status?: number }).status;
  if (status === 413)
    return createHttpError(413, `request body over ${limitBytes} bytes`, { code: 'payload_too_large' });
  if (status === 415)
    return createHttpError(415, 'unsupported body encoding or charset', { code: 'unsupported_media_type' });
  if (status === 400 || error instanceof SyntaxError)
    return createHttpError(400, 'request body is not valid JSON (an object is expected)', { code: 'invalid_json' });
  return error;
}
