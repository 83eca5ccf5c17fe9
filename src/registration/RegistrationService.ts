import { QueryFailedError, type DataSource } from 'typeorm';
import { AccountEntity, type Account } from '../accounts/Account';
import { AccountConflictError, type AccountConflictField } from '../accounts/AccountConflictError';
import type { AccountService } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { BindingService, BindResult } from '../binding/BindingService';
import type { WechatBinding } from '../binding/WechatBinding';
import type { Logger } from '../logging/createLogger';
import { maskIdNumber } from '../security/masking';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import type { IdentityVerifier, VerificationLevel } from './IdentityVerifier';

/** A registration whose form passed every format check and whose SMS code was right. */
export interface RegistrationRequest {
  realName: string;
  idNumber: string;
  phone: string;
  password: string;
  /** The WeChat user registering, bound to the new account in the same transaction. */
  openid: string;
  context: { ip: string; userAgent: string };
}

export type RegistrationResult =
  | { ok: true; account: Account; binding: WechatBinding; verification: VerificationLevel }
  /** Another account holds the ID number, the phone, or a login name equal to this ID number. */
  | { ok: false; reason: 'taken'; field: AccountConflictField }
  /** This WeChat was bound meanwhile (another tab, 实名绑定, a concurrent registration). */
  | { ok: false; reason: 'wechat_already_bound' }
  | {
      ok: false;
      reason: 'identity_refused';
      field: 'realName' | 'idNumber' | 'phone' | 'form';
      message: string;
      detail: string;
    };

export interface RegistrationServiceDependencies {
  db: DataSource;
  accounts: AccountService;
  bindingService: BindingService;
  audit: AuditLog;
  verifier: IdentityVerifier;
  protector: PersonalDataProtector;
  logger: Logger;
}

/** Thrown inside the transaction to roll it back when the binding is refused. */
class BindRefused extends Error {
  constructor(readonly result: Exclude<BindResult, { ok: true }>) {
    super(`bind refused: ${result.reason}`);
  }
}

const driverCode = (error: unknown) =>
  error instanceof QueryFailedError ? ((error.driverError as { code?: string } | undefined)?.code ?? '') : '';
/** The unique openid index refused the binding: a concurrent transaction bound this WeChat first. */
const isOpenidTaken = (error: unknown) =>
  (driverCode(error) === 'ER_DUP_ENTRY' && /wechat_bindings_openid/i.test((error as Error).message)) ||
  (error instanceof QueryFailedError && /UNIQUE constraint failed: wechat_bindings\.openid/.test(error.message));
const isDeadlock = (error: unknown) => driverCode(error) === 'ER_LOCK_DEADLOCK';

/**
 * 实名注册: the identity check, then ONE transaction that creates the account (it logs in by its ID
 * number or phone), records the 'register' audit event and binds the WeChat. Anything failing inside rolls
 * all of it back: there is never an account without its binding, nor a binding or 'register' event
 * without its account.
 */
export class RegistrationService {
  constructor(private readonly deps: RegistrationServiceDependencies) {}

  async register(request: RegistrationRequest): Promise<RegistrationResult> {
    const verdict = await this.deps.verifier.verify({
      realName: request.realName,
      idNumber: request.idNumber,
      phone: request.phone,
      openid: request.openid,
      ip: request.context.ip,
    });
    if (!verdict.ok)
      return {
        ok: false,
        reason: 'identity_refused',
        field: verdict.field,
        message: verdict.message,
        detail: verdict.reason,
      };
    try {
      return await this.inTransaction(request, verdict.level);
    } catch (error) {
      // Concurrent inserts of one unique value can deadlock when the first of them rolls back; one retry settles it.
      if (!isDeadlock(error)) return this.refusal(error);
      this.deps.logger.warn('registration deadlocked, retrying once');
      try {
        return await this.inTransaction(request, verdict.level);
      } catch (retryError) {
        return this.refusal(retryError);
      }
    }
  }

  /**
   * Whether an account already has this (valid, normalised) mobile number: asked before an SMS code
   * is sent, so such a phone gets the account-exists notice instead. The transaction checks again.
   */
  async phoneTaken(phone: string): Promise<boolean> {
    return this.deps.db
      .getRepository(AccountEntity)
      .existsBy({ phoneIndex: this.deps.protector.index('phone', phone) });
  }

  private async inTransaction(
    request: RegistrationRequest,
    verification: VerificationLevel,
  ): Promise<RegistrationResult> {
    const { db, accounts, bindingService, audit } = this.deps;
    const result = await db.transaction(async (manager) => {
      const account = await accounts.createAccount(
        {
          realName: request.realName,
          idNumber: request.idNumber,
          phone: request.phone,
          password: request.password,
        },
        manager,
      );
      await audit.record(
        {
          type: 'register',
          accountId: account.id,
          openid: request.openid,
          ip: request.context.ip,
          userAgent: request.context.userAgent,
          detail: { loginName: maskIdNumber(request.idNumber), verification },
        },
        manager,
      );
      // Last, so that nothing else can fail after BindingService has recorded its 'bind' event.
      const bound = await bindingService.bind(
        { openid: request.openid, accountId: account.id, context: request.context },
        manager,
      );
      if (!bound.ok) throw new BindRefused(bound);
      return { ok: true as const, account, binding: bound.binding, verification };
    });
    // Committed: every instance's bound-account cache forgets this WeChat.
    await bindingService.announceChange(request.openid);
    return result;
  }

  /** The transaction has rolled back; say why, or rethrow what is not a refusal. */
  private refusal(error: unknown): RegistrationResult {
    if (error instanceof AccountConflictError) return { ok: false, reason: 'taken', field: error.field };
    if (error instanceof BindRefused && error.result.reason === 'openid_already_bound')
      return { ok: false, reason: 'wechat_already_bound' };
    if (isOpenidTaken(error)) return { ok: false, reason: 'wechat_already_bound' };
    throw error;
  }
}
