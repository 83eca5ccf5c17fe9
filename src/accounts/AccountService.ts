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
import type { LoginSubject, LoginThrottle } from './LoginThrottle';
import { normalizeIdNumber } from './personalNumbers';

export interface AuthenticationContext {
  ip: string;
  userAgent: string;
  /** The WeChat user behind the H5 bind form, when there is one; recorded in the audit log. */
  openid?: string | null;
  /** The portal (key name) that asked, for POST /api/accounts/authenticate; recorded in the audit log. */
  portal?: string | null;
}

export type AuthenticationResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid_credentials' }
  /** This client failed too often on this identifier: nothing was checked; the same for an unknown one. */
  | { ok: false; reason: 'too_many_attempts'; retryAfterSeconds: number };

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
  /** Paces failed logins per typed identifier and client (one policy for the API and the H5 bind form). */
  throttle: LoginThrottle;
}

/**
 * Portal accounts: password authentication paced by LoginThrottle (one policy for the API and the
 * H5 bind form), creation with uniqueness of login name, ID number and phone, and the masked public view.
 */
export class AccountService {
  constructor(private readonly deps: AccountServiceDependencies) {}

  /**
   * Checks 登录账号 (login name, ID number or mobile number) and password. The throttle is asked
   * first, by the identifier as typed: a client that must wait is refused before anything is looked
   * up, so the refusal and its wait are the same for an unknown account and a known one. An unknown
   * account and a wrong password give the same answer in about the same time (a dummy hash is
   * verified). No account is ever locked: the owner, from a client that has not been failing, gets in.
   */
  authenticate(identifier: string, password: string, context: AuthenticationContext): Promise<AuthenticationResult> {
    const loginName = identifier.trim();
    return this.checkPassword(
      { typed: loginName },
      () => this.deps.store.findByLoginIdentifier(loginName),
      password,
      context,
      () => maskLoginName(loginName),
    );
  }

  /**
   * The current password of a known account (修改密码 asks for it), paced and audited as a login:
   * a wrong one counts as a failure of this client on this account.
   */
  authenticateById(accountId: string, password: string, context: AuthenticationContext): Promise<AuthenticationResult> {
    return this.checkPassword(
      { accountId },
      () => this.deps.store.findById(accountId),
      password,
      context,
      (account) => this.toPublic(account).loginName,
    );
  }

  private async checkPassword(
    subject: LoginSubject,
    find: () => Promise<Account | null>,
    password: string,
    context: AuthenticationContext,
    maskedLoginNameOf: (account: Account) => string,
  ): Promise<AuthenticationResult> {
    const { audit, throttle } = this.deps;
    const origin = {
      ip: context.ip,
      userAgent: context.userAgent,
      openid: context.openid ?? null,
      portal: context.portal ?? null,
    };
    const claim = await throttle.claim(subject, context);
    if (!claim.allowed)
      return { ok: false, reason: 'too_many_attempts', retryAfterSeconds: Math.ceil(claim.retryAfterMs / 1000) };
    const failureDetail = {
      failures: claim.clientFailures,
      waitSeconds: throttle.waitAfterSeconds(claim.clientFailures),
    };

    const account = await find();
    if (!account) {
      await verifyPasswordOfUnknownAccount(password);
      // The identifier is left out: a password typed into the wrong field must not reach the log.
      await audit.record({
        type: 'authenticate_failed',
        ...origin,
        detail: { reason: 'unknown_account', ...failureDetail },
      });
      return { ok: false, reason: 'invalid_credentials' };
    }
    const auditAccount = { ...origin, accountId: account.id };
    const maskedLoginName = maskedLoginNameOf(account);
    if (await verifyPassword(account.passwordHash, password)) {
      await throttle.succeeded(subject, context);
      await audit.record({
        type: 'authenticate_succeeded',
        ...auditAccount,
        detail: { loginName: maskedLoginName },
      });
      return { ok: true, account };
    }
    await audit.record({
      type: 'authenticate_failed',
      ...auditAccount,
      detail: { reason: 'wrong_password', loginName: maskedLoginName, ...failureDetail },
    });
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
      createdAt: new Date(clock.now()),
    };
    await store.insert(account, manager);
    return account;
  }

  /** Sets a new password (hashed with argon2id); false for an unknown account. The policy is the caller's to check. */
  async setPassword(accountId: string, password: string): Promise<boolean> {
    return this.deps.store.setPasswordHash(accountId, await hashPassword(password));
  }

  /**
   * Forgets the failed logins on every identifier of the account (ID number, phone, login name, and
   * the account itself for 修改密码), from every client: its owner has just set a new password.
   */
  async clearFailures(accountId: string): Promise<void> {
    const account = await this.deps.store.findById(accountId);
    if (!account) return;
    const { protector } = this.deps;
    const typed = [protector.decrypt(account.idNumberEncrypted), protector.decrypt(account.phoneEncrypted)];
    if (account.loginName !== null) typed.push(account.loginName);
    await this.deps.throttle.forget([{ accountId }, ...typed.map((value) => ({ typed: value }))]);
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
}
