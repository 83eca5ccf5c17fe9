import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/logging/createLogger';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger (the app's own, createLogger) writing JSON lines into memory, for tests that read the logs. */
export class LogCapture {
  readonly raw: string[] = [];
  readonly logger: Logger;

  constructor(level = 'debug') {
    const raw = this.raw;
    this.logger = createLogger(
      level,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          callback();
        },
      }),
    );
  }

  get lines(): LogLine[] {
    return this.raw.map((line) => JSON.parse(line) as LogLine);
  }

  get text(): string {
    return this.raw.join('\n');
  }

  clear(): void {
    this.raw.length = 0;
  }

  /** The audit lines of one type (AuditLog logs each event as `audit: <type>`). */
  audits(type: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.msg === `audit: ${type}`).map((l) => l.audit as Record<string, unknown>);
  }
}
