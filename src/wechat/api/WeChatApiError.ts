/** What WeChat's global error codes mean, for logs and the admin CLI. */
export const ERRCODE_MEANINGS: Record<number, string> = {
  [-1]: 'system busy, retry later',
  40001: 'access_token invalid or not the latest',
  40002: 'illegal grant_type',
  40003: 'invalid openid',
  40013: 'invalid AppID',
  40014: 'invalid access_token',
  40016: 'invalid number of menu buttons',
  40017: 'invalid menu button type',
  40018: 'invalid menu button name size',
  40019: 'invalid menu button key size',
  40021: 'invalid menu button url size',
  40023: 'invalid number of sub-buttons',
  40025: 'invalid sub-button name size',
  40027: 'invalid sub-button url size',
  40029: 'invalid OAuth code',
  40030: 'invalid refresh_token',
  40037: 'invalid template_id',
  40053: 'invalid QR action info',
  40125: 'invalid AppSecret',
  40163: 'OAuth code already used',
  40164: 'caller IP not in the whitelist',
  40243: 'AppSecret frozen',
  41001: 'access_token missing',
  42001: 'access_token expired',
  42002: 'refresh_token expired',
  42003: 'OAuth code expired',
  43004: 'the user must follow the account',
  45008: 'too many news articles',
  45009: 'daily API quota reached',
  45011: 'per-minute API limit reached',
  45015: 'customer-service window closed',
  45047: 'customer-service message quota used up',
  46003: 'no menu exists',
  47001: 'data format error',
  47003: 'argument invalid',
  48001: 'API not authorized for this account',
  48004: 'API banned for violations',
  50001: 'user has not authorized this API',
  50002: 'user limited',
  89503: 'IP call needs admin confirmation',
};

/** An errcode answered by WeChat. */
export class WeChatApiError extends Error {
  readonly meaning: string;

  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly api: string,
  ) {
    const meaning = ERRCODE_MEANINGS[errcode] ?? 'unknown error code';
    super(`WeChat ${api} failed: errcode ${errcode} (${meaning}): ${errmsg}`);
    this.name = 'WeChatApiError';
    this.meaning = meaning;
  }
}

/** WeChat could not be reached, answered with an HTTP error, a non-JSON body, or not in time. */
export class WeChatUnavailableError extends Error {
  constructor(
    readonly api: string,
    readonly reason: string,
  ) {
    super(`WeChat ${api} unavailable: ${reason}`);
    this.name = 'WeChatUnavailableError';
  }
}

/** Codes meaning the access token we used is stale: refresh once and retry once. */
export const STALE_TOKEN_ERRCODES = new Set([40001, 40014, 42001]);
