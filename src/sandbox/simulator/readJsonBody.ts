import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { commonErrors } from './WeChatApiError';

/**
 * Reads and parses a JSON request body whatever its Content-Type (WeChat ignores the header).
 * Anything that is not JSON — an empty body included — is WeChat's 47001.
 */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  let text: string;
  try {
    text = await getRawBody(ctx.req, { encoding: 'utf-8', limit: '1mb' });
  } catch {
    throw commonErrors.dataFormat();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw commonErrors.dataFormat();
  }
}
