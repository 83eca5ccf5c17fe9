/**
 * An error WeChat reports in the response body (HTTP 200, `{errcode, errmsg}`). Route handlers throw
 * it; the simulator's error middleware turns it into the JSON WeChat would send.
 */
export class WeChatApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`${errcode} ${errmsg}`);
    this.name = 'WeChatApiError';
  }
}

/** The errors several endpoints share, with WeChat's own errmsg texts. */
export const commonErrors = {
  dataFormat: () => new WeChatApiError(47001, 'data format error'),
  requirePost: () => new WeChatApiError(43002, 'require POST method'),
  invalidOpenId: () => new WeChatApiError(40003, 'invalid openid'),
  invalidGrantType: () => new WeChatApiError(40002, 'invalid grant_type'),
  invalidAppId: () => new WeChatApiError(40013, 'invalid appid'),
  invalidAppSecret: () => new WeChatApiError(40125, 'invalid appsecret'),
  appIdMissing: () => new WeChatApiError(41002, 'appid missing'),
  appSecretMissing: () => new WeChatApiError(41004, 'appsecret missing'),
  accessTokenMissing: () => new WeChatApiError(41001, 'access_token missing'),
  accessTokenUnknown: () => new WeChatApiError(40014, 'invalid access_token'),
  accessTokenNotLatest: () => new WeChatApiError(40001, 'invalid credential, access_token is invalid or not latest'),
  accessTokenExpired: () => new WeChatApiError(42001, 'access_token expired'),
} as const;

/** Narrows parsed JSON to a plain object, the only top-level shape WeChat's POST APIs accept. */
export function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
