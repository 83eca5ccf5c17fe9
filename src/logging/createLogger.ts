import pino, { type Logger } from 'pino';

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
