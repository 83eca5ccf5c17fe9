import type { AccessTokens } from './AccessTokens';
import { STALE_TOKEN_ERRCODES, WeChatApiError } from './WeChatApiError';
import type { WeChatHttp } from './WeChatHttp';

export interface QrCode {
  ticket: string;
  expireSeconds: number;
  /** The content encoded in the QR image. */
  url: string;
}

export interface TemplateMessage {
  touser: string;
  template_id: string;
  url?: string;
  data: Record<string, { value: string }>;
}

export interface WeChatApiClientOptions {
  http: WeChatHttp;
  tokens: AccessTokens;
  apiBase: string;
  mpBase: string;
}

/** The WeChat APIs the service calls, each with the shared access token and one retry when it is stale. */
export class WeChatApiClient {
  constructor(private readonly options: WeChatApiClientOptions) {}

  async createTemporaryQrCode(sceneStr: string, expireSeconds: number): Promise<QrCode> {
    const answer = await this.withToken<{ ticket: string; expire_seconds: number; url: string }>(
      'qrcode/create',
      'POST',
      '/cgi-bin/qrcode/create',
      {
        expire_seconds: expireSeconds,
        action_name: 'QR_STR_SCENE',
        action_info: { scene: { scene_str: sceneStr } },
      },
    );
    return { ticket: answer.ticket, expireSeconds: answer.expire_seconds, url: answer.url };
  }

  /** WeChat's image of a QR ticket; the ticket holds + / = and must be URL-encoded. */
  qrCodeImageUrl(ticket: string): string {
    return `${this.options.mpBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`;
  }

  async createMenu(menu: unknown): Promise<void> {
    await this.withToken('menu/create', 'POST', '/cgi-bin/menu/create', menu);
  }

  /** The menu published through the API, or null when there is none (46003). */
  async getMenu(): Promise<unknown> {
    try {
      const answer = await this.withToken<{ menu?: unknown }>('menu/get', 'GET', '/cgi-bin/menu/get');
      return answer.menu ?? null;
    } catch (error) {
      if (error instanceof WeChatApiError && error.errcode === 46003) return null;
      throw error;
    }
  }

  async deleteMenu(): Promise<void> {
    await this.withToken('menu/delete', 'GET', '/cgi-bin/menu/delete');
  }

  async sendCustomText(openid: string, content: string): Promise<void> {
    await this.withToken('message/custom/send', 'POST', '/cgi-bin/message/custom/send', {
      touser: openid,
      msgtype: 'text',
      text: { content },
    });
  }

  async sendTemplate(message: TemplateMessage): Promise<string> {
    const answer = await this.withToken<{ msgid: number | string }>(
      'message/template/send',
      'POST',
      '/cgi-bin/message/template/send',
      message,
    );
    return String(answer.msgid);
  }

  private async withToken<T>(api: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const { tokens } = this.options;
    const token = await tokens.get();
    try {
      return await this.send<T>(api, method, path, token, body);
    } catch (error) {
      if (!(error instanceof WeChatApiError) || !STALE_TOKEN_ERRCODES.has(error.errcode)) throw error;
      const fresh = await tokens.refreshAfterRejection(token);
      return this.send<T>(api, method, path, fresh, body);
    }
  }

  private send<T>(api: string, method: 'GET' | 'POST', path: string, token: string, body: unknown): Promise<T> {
    const url = `${this.options.apiBase}${path}?access_token=${encodeURIComponent(token)}`;
    return method === 'GET' ? this.options.http.get<T>(api, url) : this.options.http.post<T>(api, url, body);
  }
}
