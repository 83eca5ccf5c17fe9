/**
 * The reference portal's only way into the service: the public portal API over HTTP, with its own
 * key, exactly as an external portal (another server, another team) would call it. Nothing here
 * imports a service of this codebase; only the portal API's JSON shapes (docs/architecture.md) are assumed.
 */

export interface PortalAccount {
  id: string;
  loginName: string;
  realName: string;
  idNumberMasked: string;
  phoneMasked: string;
}

export interface CreatedTicket {
  ticketId: string;
  qrcodeUrl: string;
  qrContent: string;
  expiresAt: string;
  expiresIn: number;
}

export type TicketStatus = 'pending' | 'needs_binding' | 'scanned' | 'confirmed' | 'cancelled' | 'redeemed' | 'expired';

export interface TicketView {
  ticketId: string;
  status: TicketStatus;
  expiresAt: string;
}

export interface BindingView {
  id: string;
  nickname: string | null;
  openidMasked: string;
  subscribed: boolean;
  boundAt: string;
}

/** An answer of the API that is not a success: its status, `error.code` and `Retry-After`, if any. */
export class PortalApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'PortalApiError';
  }
}

/** The API did not answer (refused, timed out) or answered something that is not its JSON. */
export class PortalApiUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PortalApiUnavailableError';
  }
}

/** The browser a call is made for; the API records it (audit, the confirm page) instead of this server. */
export interface ReportedBrowser {
  clientIp?: string;
  userAgent?: string;
}

/** The body fields for `browser`: only what is known, the User-Agent cut to the API's 512 characters. */
function reported(browser: ReportedBrowser): Record<string, string> {
  const body: Record<string, string> = {};
  if (browser.clientIp) body.clientIp = browser.clientIp;
  if (browser.userAgent) body.userAgent = browser.userAgent.slice(0, 512);
  return body;
}

export interface PortalApiClientOptions {
  /** Where the API is, e.g. `https://wx.etax.example.gov.cn` (no trailing slash needed). */
  baseUrl: string;
  apiKey: string;
  /** Per-call timeout; the login ticket call may wait on WeChat for up to 4 s. Default 10 s. */
  timeoutMs?: number;
  /** Identifies the portal server in the service's logs and audit events. */
  userAgent?: string;
}

export class PortalApiClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(private readonly options: PortalApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.userAgent = options.userAgent ?? 'etax-reference-portal/1.0';
  }

  /** Origin of the API, for the page's Content-Security-Policy (the browser polls it). */
  get origin(): string {
    return new URL(this.baseUrl).origin;
  }

  get base(): string {
    return this.baseUrl;
  }

  /** `POST /api/login/tickets` on behalf of the browser that will show the QR code. */
  createTicket(browser: ReportedBrowser): Promise<CreatedTicket> {
    return this.call<CreatedTicket>('POST', '/api/login/tickets', reported(browser), 201);
  }

  /** `GET /api/login/tickets/:id` without waiting; null when the service no longer knows it. */
  async ticketStatus(ticketId: string): Promise<TicketView | null> {
    try {
      return await this.call<TicketView>(
        'GET',
        `/api/login/tickets/${encodeURIComponent(ticketId)}`,
        undefined,
        200,
        false,
      );
    } catch (error) {
      if (error instanceof PortalApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** `POST /api/login/tickets/:id/redeem`: the account behind a confirmed scan, once. */
  redeem(ticketId: string): Promise<{ account: PortalAccount; openid: string }> {
    return this.call('POST', `/api/login/tickets/${encodeURIComponent(ticketId)}/redeem`, undefined, 200);
  }

  /** `POST /api/accounts/authenticate` (实名用户登录) for the browser that typed the password (audited with it). */
  authenticate(loginName: string, password: string, browser: ReportedBrowser): Promise<{ account: PortalAccount }> {
    return this.call('POST', '/api/accounts/authenticate', { loginName, password, ...reported(browser) }, 200);
  }

  /** `POST /api/accounts/:id/password` (修改密码); a PortalApiError says why it was refused. */
  async changePassword(
    accountId: string,
    passwords: { currentPassword: string; newPassword: string },
    browser: ReportedBrowser,
  ): Promise<void> {
    await this.call(
      'POST',
      `/api/accounts/${encodeURIComponent(accountId)}/password`,
      { ...passwords, ...reported(browser) },
      204,
    );
  }

  /** `POST /api/password-resets` (忘记密码, step 1): the same answer whether or not the pair has an account. */
  startPasswordReset(
    identity: { realName: string; idNumber: string },
    browser: ReportedBrowser,
  ): Promise<{ resetId: string; phoneMasked: string | null; expiresIn: number }> {
    return this.call('POST', '/api/password-resets', { ...identity, ...reported(browser) }, 202);
  }

  /** `POST /api/password-resets/:id/verify` (step 2). */
  async verifyPasswordReset(resetId: string, smsCode: string): Promise<void> {
    await this.call('POST', `/api/password-resets/${encodeURIComponent(resetId)}/verify`, { smsCode }, 204);
  }

  /** `POST /api/password-resets/:id/password` (step 3). */
  async completePasswordReset(resetId: string, newPassword: string, browser: ReportedBrowser): Promise<void> {
    await this.call(
      'POST',
      `/api/password-resets/${encodeURIComponent(resetId)}/password`,
      { newPassword, ...reported(browser) },
      204,
    );
  }

  async listBindings(accountId: string): Promise<BindingView[]> {
    const answer = await this.call<{ bindings: BindingView[] }>(
      'GET',
      `/api/accounts/${encodeURIComponent(accountId)}/wechat-bindings`,
      undefined,
      200,
    );
    return answer.bindings;
  }

  async unbind(accountId: string, bindingId: string): Promise<void> {
    await this.call(
      'DELETE',
      `/api/accounts/${encodeURIComponent(accountId)}/wechat-bindings/${encodeURIComponent(bindingId)}`,
      undefined,
      204,
    );
  }

  private async call<T>(method: string, path: string, body: unknown, expected: number, withKey = true): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (withKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new PortalApiUnavailableError(`${method} ${path}: no answer`, { cause: error });
    }
    const text = await response.text().catch(() => '');
    if (response.status === expected) {
      if (expected === 204) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new PortalApiUnavailableError(`${method} ${path}: answer is not JSON`, { cause: error });
      }
    }
    let code = 'unexpected_status';
    let message = `HTTP ${response.status}`;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (typeof parsed.error?.code === 'string') code = parsed.error.code;
      if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    } catch {
      // Not the API's JSON error (a proxy's page): keep the generic code.
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new PortalApiError(
      response.status,
      code,
      message,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    );
  }
}
