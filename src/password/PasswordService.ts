import { randomBytes } from 'node:crypto';
import type { Account } from '../accounts/Account';
import type { AccountService, AuthenticationContext } from '../accounts/AccountService';
import { formatShanghaiTime } from '../clock/shanghaiTime';
import type { AuditLog } from '../audit/AuditLog';
import type { BindingStore } from '../binding/BindingStore';
import type { Clock } from '../clock/Clock';
import type { H5SessionStore } from '../h5/session/h5Session';
import type { Logger } from '../logging/createLogger';
import type { ExpiringRecordStore } from '../oidc/ExpiringRecordStore';
import type { PortalSessionStore } from '../portal/portalSession';
import { checkIdNumber, chinaDate } from '../registration/gb11643';
import { checkNewPassword } from '../registration/passwordPolicy';
import { checkPersonName } from '../registration/personName';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import type { RateLimiter } from '../security/RateLimiter';
import { maskPhone } from '../security/masking';
import type { SmsCodeService } from '../sms/SmsCodeService';
import type { SmsCodeStep } from '../sms/SmsCodeStep';
import type { SmsSubjectDigest } from '../sms/SmsSubjectDigest';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';

/** Where a password request came from: an H5 page (the WeChat user) or a portal (its key's name). */
export type PasswordChannel = { via: 'h5'; openid: string } | { via: 'portal'; portal: string };

export interface PasswordServiceLimits {
  /** Recoveries started per identity (ID number), whoever asks. */
  perIdentity: { limit: number; windowSeconds: number };
  /** Recoveries started per client IP. */
  perIp: { limit: number; windowSeconds: number };
}

/** 5 recoveries per ID number an hour, 100 per IP an hour (docs/security.md, V6.4). */
export const DEFAULT_PASSWORD_LIMITS: PasswordServiceLimits = {
  perIdentity: { limit: 5, windowSeconds: 3600 },
  perIp: { limit: 100, windowSeconds: 3600 },
};

export interface PasswordServiceDependencies {
  accounts: AccountService;
  bindings: BindingStore;
  /** The recoveries in progress, by their random id. */
  resets: ExpiringRecordStore;
  rateLimiter: RateLimiter;
  smsStep: SmsCodeStep;
  smsCodes: SmsCodeService;
  protector: PersonalDataProtector;
  /** Keys client IPs for the Redis counters. */
  subjects: SmsSubjectDigest;
  h5Sessions: H5SessionStore;
  portalSessions: PortalSessionStore;
  audit: AuditLog;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  clock: Clock;
  logger: Logger;
  limits?: PasswordServiceLimits;
  /**
   * Told after a new password is stored (the OpenID Connect provider's sessions of the account end,
   * with back-channel logout). The new password stands whatever it does: a failure is logged.
   */
  onNewPassword?: (accountId: string) => Promise<unknown>;
}

/** A recovery's lifetime: the SMS code's 5 minutes, a resend, and time to choose a password. */
export const RESET_TTL_SECONDS = 15 * 60;
/** Wrong codes a recovery takes before it is void (the code itself is void after as many). */
const MAX_CODE_TRIES = 5;

interface ResetRecord {
  /** The account when name and ID number matched one; null otherwise (the recovery then leads nowhere). */
  accountId: string | null;
  verified: boolean;
  tries: number;
  createdAt: number;
}

export type StartResetResult =
  | { ok: true; resetId: string; phoneMasked: string | null }
  | { ok: false; reason: 'invalid'; errors: { realName?: string; idNumber?: string } }
  | { ok: false; reason: 'too_many_attempts'; retryAfterSeconds: number };

export type VerifyResetResult = 'ok' | 'invalid_code' | 'reset_expired';

export type NewPasswordRefusal =
  { ok: false; reason: 'weak_password'; message: string } | { ok: false; reason: 'reset_expired' | 'not_verified' };

export type ChangePasswordResult =
  | { ok: true }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'too_many_attempts'; retryAfterSeconds: number }
  | { ok: false; reason: 'weak_password' | 'same_password'; message: string };

/**
 * 忘记密码 and 修改密码 for the H5 pages and the portal API alike.
 *
 * A recovery starts from 姓名 + 身份证号码: when they match an account, a code goes to the
 * account's registered mobile number (never one the requester names); when they do not, the
 * recovery goes on in the same way and leads nowhere, so no answer says whether the pair has an
 * account (only the masked number, once the pair matches). The code is checked, then the new
 * password. A new password, by recovery or by change, ends every H5, portal and OpenID Connect
 * session of the account, clears its failed logins, is audited and is told to every WeChat bound to it.
 */
export class PasswordService {
  private readonly limits: PasswordServiceLimits;
  /** Recovery SMS sends still running in the background. */
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly deps: PasswordServiceDependencies) {
    this.limits = deps.limits ?? DEFAULT_PASSWORD_LIMITS;
  }

  /**
   * Starts a recovery. The caller has spent an image captcha first. The SMS goes out in the
   * background, so a matching pair answers in the time a non-matching one does; its refusals and
   * failures are audited, never shown (they would tell that the pair has an account).
   */
  async startReset(request: {
    realName: string;
    idNumber: string;
    channel: PasswordChannel;
    context: AuthenticationContext;
  }): Promise<StartResetResult> {
    const { deps } = this;
    const name = checkPersonName(request.realName);
    const id = checkIdNumber(request.idNumber, chinaDate(deps.clock.now()));
    if (!name.ok || !id.ok)
      return {
        ok: false,
        reason: 'invalid',
        errors: { ...(name.ok ? {} : { realName: name.message }), ...(id.ok ? {} : { idNumber: id.message }) },
      };
    const identity = deps.protector.index('id_number', id.idNumber);
    const { perIdentity, perIp } = this.limits;
    const [byIdentity, byIp] = await Promise.all([
      deps.rateLimiter.hit(`password-reset:id:${identity}`, perIdentity.limit, perIdentity.windowSeconds),
      deps.rateLimiter.hit(
        `password-reset:ip:${deps.subjects.ip(request.context.ip)}`,
        perIp.limit,
        perIp.windowSeconds,
      ),
    ]);
    const audited = { ip: request.context.ip, userAgent: request.context.userAgent, ...channelAudit(request.channel) };
    if (!byIdentity.allowed || !byIp.allowed) {
      await deps.audit.record({
        type: 'password_reset_failed',
        ...audited,
        detail: { ...audited.detail, reason: 'too_many_attempts' },
      });
      return {
        ok: false,
        reason: 'too_many_attempts',
        retryAfterSeconds: Math.max(byIdentity.retryAfterSeconds, byIp.retryAfterSeconds),
      };
    }
    const found = await deps.accounts.findByLoginIdentifier(id.idNumber);
    const account = found && found.realName === name.name ? found : null;
    const resetId = randomBytes(32).toString('base64url');
    const record: ResetRecord = {
      accountId: account?.id ?? null,
      verified: false,
      tries: 0,
      createdAt: deps.clock.now(),
    };
    await deps.resets.upsert(resetId, { ...record }, RESET_TTL_SECONDS);
    await deps.audit.record({
      type: 'password_reset_started',
      ...audited,
      accountId: account?.id ?? null,
      detail: { ...audited.detail, matched: account !== null },
    });
    if (!account) return { ok: true, resetId, phoneMasked: null };
    const phone = deps.accounts.phoneOf(account);
    const sending = deps.smsStep
      .send({
        phone,
        purpose: 'password_reset',
        ip: request.context.ip,
        // The code belongs to this recovery: another recovery of the same account cannot use or void it.
        requester: resetId,
        audit: { type: 'password_reset_failed', ...audited, accountId: account.id },
      })
      .then(
        () => undefined,
        (error: unknown) => deps.logger.warn({ err: error }, 'password reset SMS not sent'),
      )
      .finally(() => this.sending.delete(sending));
    this.sending.add(sending);
    return { ok: true, resetId, phoneMasked: maskPhone(phone) };
  }

  /** Resolves once every recovery SMS started so far has been handed to the provider (or refused). */
  async idle(): Promise<void> {
    await Promise.all([...this.sending]);
  }

  /** The SMS code of a recovery. A wrong code and a recovery that leads nowhere answer alike. */
  async verifyCode(resetId: string, code: string): Promise<VerifyResetResult> {
    const record = await this.readReset(resetId);
    if (!record) return 'reset_expired';
    if (record.verified) return 'ok';
    if (record.tries >= MAX_CODE_TRIES) return 'invalid_code';
    const account = record.accountId ? await this.deps.accounts.findById(record.accountId) : null;
    const verdict = account
      ? await this.deps.smsCodes.verify({
          phone: this.deps.accounts.phoneOf(account),
          purpose: 'password_reset',
          code,
          requester: resetId,
        })
      : 'wrong';
    const next: ResetRecord = verdict === 'ok' ? { ...record, verified: true } : { ...record, tries: record.tries + 1 };
    await this.deps.resets.upsert(resetId, { ...next }, this.remainingSeconds(record));
    return verdict === 'ok' ? 'ok' : 'invalid_code';
  }

  /** Whether a recovery's code has been checked (its page then asks for the new password). */
  async isVerified(resetId: string): Promise<boolean> {
    return (await this.readReset(resetId))?.verified === true;
  }

  /** Sets the new password of a verified recovery, under the registration's password policy. */
  async completeReset(request: {
    resetId: string;
    password: string;
    channel: PasswordChannel;
    context: AuthenticationContext;
  }): Promise<{ ok: true; account: Account } | NewPasswordRefusal> {
    const record = await this.readReset(request.resetId);
    if (!record) return { ok: false, reason: 'reset_expired' };
    if (!record.verified || !record.accountId) return { ok: false, reason: 'not_verified' };
    const account = await this.deps.accounts.findById(record.accountId);
    if (!account) return { ok: false, reason: 'reset_expired' };
    const policy = this.checkPolicy(account, request.password);
    if (!policy.ok) return { ok: false, reason: 'weak_password', message: policy.message };
    await this.deps.resets.destroy(request.resetId);
    await this.applyNewPassword(account, request.password, 'reset', request.channel, request.context);
    return { ok: true, account };
  }

  /** 修改密码: the current password (a wrong one counts towards the lockout), then the new one. */
  async changePassword(request: {
    accountId: string;
    currentPassword: string;
    newPassword: string;
    channel: PasswordChannel;
    context: AuthenticationContext;
  }): Promise<ChangePasswordResult> {
    const { accounts, audit } = this.deps;
    const audited = { ip: request.context.ip, userAgent: request.context.userAgent, ...channelAudit(request.channel) };
    const checked = await accounts.authenticateById(request.accountId, request.currentPassword, request.context);
    if (!checked.ok) {
      await audit.record({
        type: 'password_change_failed',
        ...audited,
        accountId: request.accountId,
        detail: { ...audited.detail, reason: checked.reason },
      });
      return checked;
    }
    const refuse = async (reason: 'weak_password' | 'same_password', message: string) => {
      await audit.record({
        type: 'password_change_failed',
        ...audited,
        accountId: request.accountId,
        detail: { ...audited.detail, reason },
      });
      return { ok: false as const, reason, message };
    };
    const policy = this.checkPolicy(checked.account, request.newPassword);
    if (!policy.ok) return refuse('weak_password', policy.message);
    if (request.newPassword === request.currentPassword) return refuse('same_password', '新密码不能与原密码相同');
    await this.applyNewPassword(checked.account, request.newPassword, 'changed', request.channel, request.context);
    return { ok: true };
  }

  private checkPolicy(account: Account, password: string) {
    return checkNewPassword(password, {
      phone: this.deps.accounts.phoneOf(account),
      idNumber: this.deps.accounts.idNumberOf(account),
    });
  }

  private async applyNewPassword(
    account: Account,
    password: string,
    kind: 'reset' | 'changed',
    channel: PasswordChannel,
    context: AuthenticationContext,
  ): Promise<void> {
    const { deps } = this;
    await deps.accounts.setPassword(account.id, password);
    await deps.accounts.clearFailures(account.id);
    // Every session that acted for the account ends: whoever held one must log in with the new password.
    const [h5, portal] = await Promise.all([
      deps.h5Sessions.destroyForAccount(account.id),
      deps.portalSessions.destroyForAccount(account.id),
    ]);
    try {
      await deps.onNewPassword?.(account.id);
    } catch (error) {
      deps.logger.error({ err: error }, 'after a new password: the provider sessions of the account were not ended');
    }
    const audited = channelAudit(channel);
    await deps.audit.record({
      type: kind === 'reset' ? 'password_reset' : 'password_changed',
      accountId: account.id,
      openid: audited.openid,
      ip: context.ip,
      userAgent: context.userAgent,
      detail: { ...audited.detail, sessionsEnded: { h5, portal } },
    });
    const text = deps.templates.render('password-changed', {
      loginName: deps.accounts.toPublic(account).loginName,
      time: formatShanghaiTime(new Date(deps.clock.now())),
      action: kind === 'reset' ? '重置' : '修改',
    });
    for (const binding of await deps.bindings.listForAccount(account.id))
      sendCustomerNotice(deps, binding.openid, text, 'password');
  }

  private async readReset(resetId: string): Promise<ResetRecord | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(resetId)) return null;
    const stored = await this.deps.resets.get(resetId);
    return stored ? (stored.payload as unknown as ResetRecord) : null;
  }

  private remainingSeconds(record: ResetRecord): number {
    return Math.max(1, RESET_TTL_SECONDS - Math.floor((this.deps.clock.now() - record.createdAt) / 1000));
  }
}

/** What the audit row says about the channel: the WeChat user, or the portal's key name. */
function channelAudit(channel: PasswordChannel): { openid: string | null; detail: Record<string, unknown> } {
  return channel.via === 'h5'
    ? { openid: channel.openid, detail: { via: 'h5' } }
    : { openid: null, detail: { via: 'portal', portal: channel.portal } };
}
