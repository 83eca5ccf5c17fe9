import pino, { type Logger } from 'pino';
import { serializeError } from './errorSerializer';

export type { Logger };

/**
 * JSON logs. Secrets never reach a log call; the redaction list is a second line of defence for
 * fields that could carry them if a library object is logged whole.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'etax-wechat' },
      // Errors are logged as `{ err }` everywhere; this keeps SQL and its bound values out of the lines.
      serializers: { err: serializeError },
      redact: {
        paths: [
          '*.password',
          '*.appSecret',
          '*.secret',
          '*.access_token',
          '*.accessToken',
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
