import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { AuditLog } from '../audit/AuditLog';
import type { Clock } from '../clock/Clock';
import { maskIdNumber, maskLoginName, maskPhone } from '../security/masking';
import { hashPassword, verifyPassword, verifyPasswordOfUnknownAccount } from '../security/passwords';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import type { Account } from './Account';
import { AccountConflictError } from './AccountConflictError';
import type { AccountStore } from './AccountStore';
import { normalizeIdNumber } from './personalNumbers';

export interface LockoutOptions {
  /** Failed logins within the window that lock the account (default 5). */
  maxFailures?: number;
  /** How far back failures count (default 15 minutes). */
  windowMs?: number;
  /** How long a lock lasts (default 15 minutes). */
  lockMs?: number;
}

export interface AuthenticationContext {
  ip: string;
  userAgent: string;
  /** The WeChat user behind the H5 bind form, when there is one; recorded in the audit log. */
  openid?: string | null;
  /** The portal that asked (its API key's name), for a portal's login; recorded in the audit log. */
  portal?: string;
}

export type AuthenticationResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'account_locked'; lockedUntil: Date };

export interface NewAccount {
  /** A chosen login name, at most 10 digits; without one the account logs in by ID or mobile number. */
  loginName?: string;
  realName: string;
  idNumber: string;
  phone: string;
  password: string;
}

/** What may leave the service about an account: ID and phone numbers only masked. */
export interface PublicAccount {
  id: string;
  loginName: string;
  realName: string;
  idNumberMasked: string;
  phoneMasked: string;
}

export interface AccountServiceDependencies {
  store: AccountStore;
  protector: PersonalDataProtector;
  audit: AuditLog;
  clock: Clock;
}

const MINUTE = 60_000;

/** Who and where, as every authentication audit event records it. */
interface AuditSubject {
  accountId: string;
  ip: string;
  userAgent: string;
  openid: string | null;
}

/**
 * Portal accounts: password authentication with lockout (one policy for the API and the H5 bind
 * form), creation with uniqueness of login name, ID number and phone, and the masked public view.
 */
export class AccountService {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly lockMs: number;

  constructor(
    private readonly deps: AccountServiceDependencies,
    options: LockoutOptions = {},
  ) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 15 * MINUTE;
    this.lockMs = options.lockMs ?? 15 * MINUTE;
  }

  /**
   * Checks 登录账号 (login name, ID number or mobile number) and password. An unknown account and a
   * wrong password give the same answer in about the same time (a dummy hash is verified). A
   * locked account is refused without looking at the password, the right one included; the
   * failure that reaches the limit already answers account_locked.
   */
  async authenticate(
    identifier: string,
    password: string,
    context: AuthenticationContext,
  ): Promise<AuthenticationResult> {
    const loginName = identifier.trim();
    const account = await this.deps.store.findByLoginIdentifier(loginName);
    return this.checkPassword(account, password, context, maskLoginName(loginName));
  }

  /**
   * The current password of a known account (修改密码 asks for it), under the same lockout and
   * audit as a login: a wrong one counts as a failed login.
   */
  async authenticateById(
    accountId: string,
    password: string,
    context: AuthenticationContext,
  ): Promise<AuthenticationResult> {
    const account = await this.deps.store.findById(accountId);
    return this.checkPassword(account, password, context, account ? this.toPublic(account).loginName : '');
  }

  private async checkPassword(
    account: Account | null,
    password: string,
    context: AuthenticationContext,
    maskedLoginName: string,
  ): Promise<AuthenticationResult> {
    const { store, audit, clock } = this.deps;
    const origin = { ip: context.ip, userAgent: context.userAgent, openid: context.openid ?? null };
    if (!account) {
      await verifyPasswordOfUnknownAccount(password);
      // The identifier is left out: a password typed into the wrong field must not reach the log.
      await audit.record({ type: 'authenticate_failed', ...origin, detail: { reason: 'unknown_account' } });
      return { ok: false, reason: 'invalid_credentials' };
    }
    const auditAccount: AuditSubject = { ...origin, accountId: account.id };

    const now = new Date(clock.now());
    if (account.lockedUntil && account.lockedUntil > now) {
      await audit.record({
        type: 'authenticate_failed',
        ...auditAccount,
        detail: {
          reason: 'account_locked',
          loginName: maskedLoginName,
          lockedUntil: account.lockedUntil.toISOString(),
        },
      });
      return { ok: false, reason: 'account_locked', lockedUntil: account.lockedUntil };
    }

    if (await verifyPassword(account.passwordHash, password)) {
      // Time is read again: verification takes a while and a lock set meanwhile must not be missed.
      if (!(await store.clearFailures(account.id, new Date(clock.now()))))
        return this.lockedNow(account.id, auditAccount, maskedLoginName);
      await audit.record({
        type: 'authenticate_succeeded',
        ...auditAccount,
        detail: { loginName: maskedLoginName, ...(context.portal ? { portal: context.portal } : {}) },
      });
      return { ok: true, account: { ...account, failedLogins: 0, lastFailedAt: null, lockedUntil: null } };
    }

    const failedAt = new Date(clock.now());
    const count = await store.recordFailure(account.id, {
      now: failedAt,
      windowStart: new Date(failedAt.getTime() - this.windowMs),
      maxFailures: this.maxFailures,
      lockUntil: new Date(failedAt.getTime() + this.lockMs),
    });
    if (!count) return this.lockedNow(account.id, auditAccount, maskedLoginName);
    await audit.record({
      type: 'authenticate_failed',
      ...auditAccount,
      detail: { reason: 'wrong_password', loginName: maskedLoginName, failedLogins: count.failedLogins },
    });
    if (count.lockedUntil) {
      await audit.record({
        type: 'account_locked',
        ...auditAccount,
        detail: {
          loginName: maskedLoginName,
          failedLogins: count.failedLogins,
          lockedUntil: count.lockedUntil.toISOString(),
        },
      });
      return { ok: false, reason: 'account_locked', lockedUntil: count.lockedUntil };
    }
    return { ok: false, reason: 'invalid_credentials' };
  }

  /**
   * Creates an account (password hashed with argon2id, ID number upper-case, ID and phone encrypted
   * and indexed). Throws AccountConflictError when the login name, ID number or phone is taken,
   * including when a concurrent insert wins. Pass `manager` to create it inside a transaction.
   * Formats are the caller's to validate (registration checks GB 11643, the mobile number, the name).
   */
  async createAccount(input: NewAccount, manager?: EntityManager): Promise<Account> {
    const { store, protector, clock } = this.deps;
    const idNumber = normalizeIdNumber(input.idNumber);
    const phone = input.phone.trim();
    const unique = {
      loginName: input.loginName?.trim() || null,
      idNumberIndex: protector.index('id_number', idNumber),
      phoneIndex: protector.index('phone', phone),
    };
    const conflict = await store.findConflict(unique, manager);
    if (conflict) throw new AccountConflictError(conflict);
    const account: Account = {
      id: randomUUID(),
      ...unique,
      passwordHash: await hashPassword(input.password),
      realName: input.realName,
      idNumberEncrypted: protector.encrypt(idNumber),
      phoneEncrypted: protector.encrypt(phone),
      failedLogins: 0,
      lastFailedAt: null,
      lockedUntil: null,
      createdAt: new Date(clock.now()),
    };
    await store.insert(account, manager);
    return account;
  }

  /** Sets a new password (hashed with argon2id); false for an unknown account. The policy is the caller's to check. */
  async setPassword(accountId: string, password: string): Promise<boolean> {
    return this.deps.store.setPasswordHash(accountId, await hashPassword(password));
  }

  /** Forgets the account's failed logins and lifts its lock: its owner has just set a new password. */
  clearFailures(accountId: string): Promise<void> {
    return this.deps.store.resetFailures(accountId);
  }

  /** The account an ID number, mobile number or login name names (忘记密码 looks one up by ID number). */
  findByLoginIdentifier(identifier: string): Promise<Account | null> {
    return this.deps.store.findByLoginIdentifier(identifier.trim());
  }

  findById(id: string, manager?: EntityManager): Promise<Account | null> {
    return this.deps.store.findById(id, manager);
  }

  /** Whether `phone` is the account's phone number, compared through the index in constant time. */
  phoneMatches(account: Account, phone: string): boolean {
    const given = Buffer.from(this.deps.protector.index('phone', phone.trim()), 'hex');
    const stored = Buffer.from(account.phoneIndex, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored);
  }

  toPublic(account: Account): PublicAccount {
    const { protector } = this.deps;
    const idNumberMasked = maskIdNumber(protector.decrypt(account.idNumberEncrypted));
    return {
      id: account.id,
      // Without a chosen login name the account logs in by its ID number, so that is what is shown.
      loginName: account.loginName === null ? idNumberMasked : maskLoginName(account.loginName),
      realName: account.realName,
      idNumberMasked,
      phoneMasked: maskPhone(protector.decrypt(account.phoneEncrypted)),
    };
  }

  /** The full mobile number, for sending it a code and for the password policy (never shown). */
  phoneOf(account: Account): string {
    return this.deps.protector.decrypt(account.phoneEncrypted);
  }

  /** The full ID number, for the few who may see it (an OIDC client allowed the `id_number` scope). */
  idNumberOf(account: Account): string {
    return this.deps.protector.decrypt(account.idNumberEncrypted);
  }

  /** A concurrent failure locked the account while this attempt was being checked. */
  private async lockedNow(
    accountId: string,
    auditAccount: AuditSubject,
    loginName: string,
  ): Promise<AuthenticationResult> {
    const lockedUntil = (await this.deps.store.findById(accountId))?.lockedUntil;
    // Gone, or the lock already over: nothing to report but a failed attempt.
    if (!lockedUntil) return { ok: false, reason: 'invalid_credentials' };
    await this.deps.audit.record({
      type: 'authenticate_failed',
      ...auditAccount,
      detail: { reason: 'account_locked', loginName, lockedUntil: lockedUntil.toISOString() },
    });
    return { ok: false, reason: 'account_locked', lockedUntil };
  }
}
