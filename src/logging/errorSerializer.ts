import pino from 'pino';
import { maskIdNumber, maskPhone } from '../security/masking';

/**
 * Fields of database errors that carry what the statement carried: typeorm's QueryFailedError
 * copies the bound `parameters` and the `query`, mysql2 and better-sqlite3 add the `sql`. A login
 * lookup binds the login name, which is an ID number or a phone (or a password typed in the wrong
 * field), so none of them may reach a log line.
 */
const STATEMENT_FIELDS = new Set(['parameters', 'query', 'sql', 'values']);
/** What is kept of a driver's own error: enough to tell one failure from another. */
const DRIVER_FIELDS = ['code', 'errno', 'sqlState'];
const MAX_DEPTH = 5;

const ID_NUMBER = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g;
const PHONE = /(?<!\d)1[3-9]\d{9}(?!\d)/g;
// MySQL quotes the offending value into some messages: "Duplicate entry '…' for key", "Incorrect … value: '…'".
const QUOTED_VALUE = /((?:entry|value:?) )'(?:[^'\\]|\\.)*'/gi;

/** Masks what looks like an ID number or a mobile number in free text, and values MySQL quoted. */
export function maskPersonalNumbers(text: string): string {
  return text
    .replace(QUOTED_VALUE, "$1'[redacted]'")
    .replace(ID_NUMBER, (match) => maskIdNumber(match))
    .replace(PHONE, (match) => maskPhone(match));
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskPersonalNumbers(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (STATEMENT_FIELDS.has(key)) continue;
    if (key === 'driverError' && field !== null && typeof field === 'object') {
      const driver = field as Record<string, unknown>;
      out[key] = Object.fromEntries(DRIVER_FIELDS.filter((name) => name in driver).map((name) => [name, driver[name]]));
      continue;
    }
    out[key] = scrub(field, depth + 1);
  }
  return out;
}

/**
 * The `err` serializer of every logger (createLogger): pino's own (type, message, stack, cause and
 * own fields), then statement text and bound values dropped and personal numbers masked.
 */
export function serializeError(error: unknown): unknown {
  const serialized = error instanceof Error ? pino.stdSerializers.err(error) : error;
  return scrub(serialized, 0);
}
