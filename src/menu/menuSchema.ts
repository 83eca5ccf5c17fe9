import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject, type FuncKeywordDefinition, type ValidateFunction } from 'ajv';

/** What `maxUtf8Bytes` reports besides the limit, so a problem can say how far over it is. */
export interface Utf8BytesParams {
  limit: number;
  bytes: number;
}

/**
 * `maxUtf8Bytes`: WeChat limits names, keys and URLs in UTF-8 bytes (a Chinese character is 3),
 * while JSON Schema's maxLength counts characters, so the rule needs a keyword of its own.
 */
const checkUtf8Bytes: ((limit: number, data: string) => boolean) & { errors?: Partial<ErrorObject>[] } = (
  limit,
  data,
) => {
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes <= limit) return true;
  const params: Utf8BytesParams = { limit, bytes };
  checkUtf8Bytes.errors = [{ keyword: 'maxUtf8Bytes', message: `must be at most ${limit} bytes in UTF-8`, params }];
  return false;
};

const maxUtf8Bytes: FuncKeywordDefinition = {
  keyword: 'maxUtf8Bytes',
  type: 'string',
  schemaType: 'number',
  errors: true,
  validate: checkUtf8Bytes,
};

/** Compiles menus/menu.schema.json (draft-07) with every error reported, not just the first. */
export function compileMenuSchema(schemaFile: string): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  ajv.addKeyword(maxUtf8Bytes);
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
}
