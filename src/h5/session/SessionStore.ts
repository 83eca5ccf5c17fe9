/** What an H5 session remembers between requests. */
export interface H5SessionData {
  /** The WeChat user, set once OAuth has told us who it is. */
  openid?: string;
  /** OAuth `state` of the redirect in progress, and where to go back afterwards. */
  oauthState?: string;
  returnTo?: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** 实名绑定 in progress: the account that passed step 1 (登录). */
  bind?: { accountId: string; at: number };
  /** The phone that the last SMS code was sent to, for the page after 获取验证码. */
  smsPhone?: string;
}

/** Sessions by id, each expiring after ttlSeconds unless written again. */
export interface SessionStore {
  get(id: string): Promise<H5SessionData | null>;
  set(id: string, data: H5SessionData, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
}
