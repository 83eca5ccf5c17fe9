import type { LoginNoticeFact } from '../config/Config';
import { formatShanghaiMinute } from '../clock/shanghaiTime';
import type { Logger } from '../logging/createLogger';
import type { Metrics } from '../observability/Metrics';
import { describeRegion } from '../region/IpRegion';
import type { IpRegionLookup } from '../region/IpRegionLookup';
import { maskOpenid } from '../security/masking';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { WeChatApiError } from '../wechat/api/WeChatApiError';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import type { TemplateSendLimiter } from './TemplateSendLimiter';

/** One successful login of an account, as the notice tells it. */
export interface LoginFacts {
  accountId: string;
  /**
   * qr: 微信扫码 (a redeemed ticket); password: 账号密码 (POST /api/accounts/authenticate, the
   * OpenID Connect page's 实名用户登录); wechat_browser: 微信内确认 (the OpenID Connect page's
   * 确定登录 inside WeChat's browser, no QR code).
   */
  method: 'qr' | 'password' | 'wechat_browser';
  /** The portal that logged the taxpayer in (its key's display name, or the OpenID Connect client's name). */
  portal: string;
  /** Epoch ms. */
  at: number;
  /** The computer's IP and browser, as the portal reported them. */
  computerIp: string;
  browser: string;
}

export interface LoginNoticeSenderOptions {
  templateId: string;
  fields: Partial<Record<LoginNoticeFact, string>>;
  /** The 登录记录 page the notice's 详情 opens. */
  historyUrl: string;
  bindings: { listForAccount(accountId: string): Promise<{ openid: string }[]> };
  wechatApi: Pick<WeChatApiClient, 'sendTemplate'>;
  limiter: TemplateSendLimiter;
  /** templates/notices: one file per fact under login/. */
  templates: ReplyTemplates;
  regions: IpRegionLookup;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Errcodes a second try cannot change: the user unfollowed or is unknown, the template or its data
 * is wrong, the day's quota is gone, the account may not send. Anything else (WeChat busy, a
 * timeout, a network error) is tried once more.
 */
const FINAL_ERRCODES = new Set([40003, 40037, 43004, 43101, 45009, 47001, 47003, 48001]);

/** WeChat cuts a keyword's value at 20 characters (and refuses longer `thing` values of category templates). */
const MAX_VALUE_CHARACTERS = 20;

/**
 * After a login, tells every WeChat bound to the account, by template message: when, how, through
 * which portal, from where and which browser, with a link to 登录记录. It runs after the login's
 * answer and never fails it: failures are retried once, then counted and logged.
 */
export class LoginNoticeSender {
  /** Notices still being sent (tests and shutdown wait on them). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: LoginNoticeSenderOptions) {}

  /** Starts the notices of one login once `after` settles (the login's answer is out) and returns at once. */
  notify(login: LoginFacts, after: Promise<void> = Promise.resolve()): void {
    const sending = after
      .then(() => this.send(login))
      .catch((error: unknown) => {
        this.options.metrics.loginNotice('failed');
        this.options.logger.warn({ err: error, accountId: login.accountId }, 'login notice not sent');
      });
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  /** Settles when every notice started so far is sent, dropped or failed. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** The template's data for a login: each configured keyword with its fact, in the wording of templates/notices. */
  private data(login: LoginFacts): Record<string, { value: string }> {
    const { fields, templates, regions } = this.options;
    const facts: Record<LoginNoticeFact, string> = {
      time: formatShanghaiMinute(login.at),
      method: login.method,
      portal: login.portal,
      region: describeRegion(regions.regionOf(login.computerIp)),
      browser: login.browser,
    };
    const data: Record<string, { value: string }> = {};
    for (const [fact, keyword] of Object.entries(fields) as [LoginNoticeFact, string][]) {
      data[keyword] = { value: shorten(templates.render(`login/${fact}`, facts)) };
    }
    return data;
  }

  private async send(login: LoginFacts): Promise<void> {
    const bindings = await this.options.bindings.listForAccount(login.accountId);
    if (bindings.length === 0) return;
    const data = this.data(login);
    await Promise.all(bindings.map((binding) => this.sendTo(binding.openid, data)));
  }

  private async sendTo(openid: string, data: Record<string, { value: string }>): Promise<void> {
    const { wechatApi, limiter, metrics, logger, templateId, historyUrl } = this.options;
    for (let attempt = 1; ; attempt++) {
      const permit = await limiter.take(openid);
      if (!permit.allowed) {
        metrics.loginNotice(`dropped_${permit.reason}`);
        logger.warn({ openid: maskOpenid(openid), reason: permit.reason }, 'login notice dropped');
        return;
      }
      try {
        await wechatApi.sendTemplate({ touser: openid, template_id: templateId, url: historyUrl, data });
        metrics.loginNotice('sent');
        return;
      } catch (error) {
        const final = error instanceof WeChatApiError && FINAL_ERRCODES.has(error.errcode);
        if (final || attempt === 2) {
          metrics.loginNotice('failed');
          logger.warn({ err: error, openid: maskOpenid(openid), attempt }, 'login notice not sent');
          return;
        }
        metrics.loginNotice('retried');
      }
    }
  }
}

function shorten(value: string): string {
  const characters = Array.from(value);
  return characters.length <= MAX_VALUE_CHARACTERS
    ? value
    : `${characters.slice(0, MAX_VALUE_CHARACTERS - 1).join('')}…`;
}
