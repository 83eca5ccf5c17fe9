import type { Metrics } from '../../observability/Metrics';
import { WeChatApiError, WeChatUnavailableError } from './WeChatApiError';

/**
 * JSON over HTTPS to WeChat with a hard timeout, so no caller waits past WeChat's own 5 s budget.
 * WeChat reports failures as HTTP 200 with a non-zero errcode; those become WeChatApiError.
 */
export class WeChatHttp {
  /** `metrics` counts every call by api and outcome (absent for the admin CLI). */
  constructor(
    private readonly timeoutMs: number,
    private readonly metrics?: Metrics,
  ) {}

  get<T>(api: string, url: string): Promise<T> {
    return this.send<T>(api, url, { method: 'GET' });
  }

  post<T>(api: string, url: string, body: unknown): Promise<T> {
    return this.send<T>(api, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // WeChat wants UTF-8 characters as they are, not \u escapes (menu names count bytes).
      body: JSON.stringify(body),
    });
  }

  private async send<T>(api: string, url: string, init: RequestInit): Promise<T> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    let response: Response;
    let text: string;
    // A timer cleared once the answer is read, not AbortSignal.timeout(): that one fires after every
    // call, finished or not, and makes undici abort a finished request (measurable under load).
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new DOMException('WeChat API call timed out', 'TimeoutError')),
      this.timeoutMs,
    );
    try {
      response = await fetch(url, { ...init, signal: abort.signal });
      text = await response.text();
    } catch (error) {
      const timedOut = abort.signal.aborted;
      this.metrics?.wechatTransportFailure(api, timedOut ? 'timeout' : 'network', seconds());
      const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : (error as Error).message;
      throw new WeChatUnavailableError(api, reason);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      this.metrics?.wechatTransportFailure(api, response.status >= 500 ? 'http_5xx' : 'http_4xx', seconds());
      throw new WeChatUnavailableError(api, `HTTP ${response.status}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      this.metrics?.wechatTransportFailure(api, 'not_json', seconds());
      throw new WeChatUnavailableError(api, 'answer is not JSON');
    }
    const { errcode, errmsg } = (data ?? {}) as { errcode?: unknown; errmsg?: unknown };
    if (typeof errcode === 'number' && errcode !== 0) {
      this.metrics?.wechatErrcode(api, errcode, seconds());
      throw new WeChatApiError(errcode, typeof errmsg === 'string' ? errmsg : '', api);
    }
    this.metrics?.wechatCallSucceeded(api, seconds());
    return data as T;
  }
}
