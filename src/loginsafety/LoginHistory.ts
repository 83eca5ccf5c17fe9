import type { PortalKey } from '../security/PortalKey';
import type { AuditEvent } from '../audit/AuditEvent';
import type { AuditLog } from '../audit/AuditLog';
import { formatShanghaiTime } from '../clock/shanghaiTime';
import { describeBrowser } from '../login/describeBrowser';
import { describeRegion } from '../region/IpRegion';
import type { IpRegionLookup } from '../region/IpRegionLookup';
import { maskOpenid } from '../security/masking';
import { DEFAULT_PORTAL_NAME } from './portalName';

/** What happened: a login (微信扫码 or 账号密码) or a change of the account's bindings. */
export type LoginRecordKind = 'qr' | 'password' | 'bind' | 'register' | 'unbind';

/** One line of 登录记录, every field ready to show (masked where personal). */
export interface LoginRecord {
  kind: LoginRecordKind;
  /** Asia/Shanghai wall-clock time. */
  at: string;
  /** The portal of a login, or the one that unbound; null for changes made in WeChat. */
  portal: string | null;
  /** Where the computer of a login was; null for binding changes. */
  region: string | null;
  browser: string | null;
  /** The WeChat that confirmed the login or whose binding changed, masked; null for a password login. */
  wechat: { masked: string; isViewer: boolean } | null;
}

/** How many entries 登录记录 lists. */
export const LOGIN_HISTORY_LENGTH = 20;

const KINDS: Partial<Record<AuditEvent['type'], LoginRecordKind>> = {
  login_redeemed: 'qr',
  authenticate_succeeded: 'password',
  bind: 'bind',
  register: 'register',
  unbind: 'unbind',
};

/** 登录记录: the account's latest logins and binding changes, read from the audit log. */
export class LoginHistory {
  /**
   * `portalKeys`: audit rows name a portal by its key's name; the taxpayer reads its display name
   * (a name no longer configured is shown as it was recorded).
   */
  constructor(
    private readonly audit: Pick<AuditLog, 'loginHistory'>,
    private readonly regions: IpRegionLookup,
    private readonly portalKeys: readonly Pick<PortalKey, 'name' | 'displayName'>[] = [],
  ) {}

  /** The latest entries of `accountId`, newest first, as the WeChat `viewerOpenid` sees them. */
  async recent(accountId: string, viewerOpenid: string): Promise<LoginRecord[]> {
    const events = await this.audit.loginHistory(accountId, LOGIN_HISTORY_LENGTH);
    return events.flatMap((event) => {
      const kind = KINDS[event.type];
      return kind ? [this.record(kind, event, viewerOpenid)] : [];
    });
  }

  private displayNameOf(portal: string | null): string | null {
    return portal === null ? null : (this.portalKeys.find((key) => key.name === portal)?.displayName ?? portal);
  }

  private record(kind: LoginRecordKind, event: AuditEvent, viewerOpenid: string): LoginRecord {
    const detail = event.detail ?? {};
    const text = (name: string): string | null => (typeof detail[name] === 'string' ? detail[name] : null);
    const login = kind === 'qr' || kind === 'password';
    // A scan login's row is written by the portal's server: the computer is the one that asked for the QR.
    const computerIp = kind === 'qr' ? text('computerIp') : event.ip;
    return {
      kind,
      at: formatShanghaiTime(event.createdAt),
      portal: this.displayNameOf(text('portal')) ?? (login ? DEFAULT_PORTAL_NAME : null),
      region: login ? describeRegion(this.regions.regionOf(computerIp ?? '')) : null,
      browser: login
        ? (kind === 'qr' ? text('browser') : describeBrowser(event.userAgent ?? '')) || '未知浏览器'
        : null,
      wechat: event.openid ? { masked: maskOpenid(event.openid), isViewer: event.openid === viewerOpenid } : null,
    };
  }
}
