import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { AccountEntity } from '../accounts/Account';
import type { AuditLog } from '../audit/AuditLog';
import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
import type { BindingChangeAnnouncer } from './BoundAccountCache';
import { WechatBindingEntity, type WechatBinding } from './WechatBinding';

export type BindResult =
  | { ok: true; binding: WechatBinding }
  | { ok: false; reason: 'openid_already_bound'; binding: WechatBinding }
  | { ok: false; reason: 'account_full' }
  | { ok: false; reason: 'account_missing' };

export interface BindRequest {
  openid: string;
  accountId: string;
  nickname?: string | null;
  unionid?: string | null;
  context: { ip: string; userAgent: string };
}

export interface BindingServiceOptions {
  db: DataSource;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  maxBindingsPerAccount: number;
  /**
   * Told of every committed bind and unbind, so every instance's BoundAccountCache forgets the
   * openid. Leave it out only where no cache reads this database (tests building their own service).
   */
  changes?: BindingChangeAnnouncer;
  /** Told of every committed unbind, so the logins that WeChat scanned end (LoginService). */
  logins?: { endLoginsOf(openid: string, client?: { ip: string; userAgent: string }): Promise<void> };
  /**
   * Told after a committed unbind (the OpenID Connect provider's sessions of the account end, with
   * back-channel logout). The unbind stands whatever it does: a failure is logged.
   */
  onUnbound?: (accountId: string) => Promise<unknown>;
}

const isDuplicateKey = (error: unknown) =>
  /ER_DUP_ENTRY|UNIQUE constraint failed/.test(String((error as { code?: string }).code ?? (error as Error).message));

/**
 * Links a WeChat openid to an account: one account per openid (a unique index), at most
 * MAX_BINDINGS_PER_ACCOUNT openids per account (checked under a lock on the account row, so two
 * concurrent binds cannot both pass the count).
 */
export class BindingService {
  constructor(private readonly options: BindingServiceOptions) {}

  /**
   * Binds inside the caller's transaction when given one (实名注册), else in a transaction of its own.
   * Within a caller's transaction nothing is announced (it has not committed): the caller calls
   * announceChange after its commit.
   */
  async bind(request: BindRequest, manager?: EntityManager): Promise<BindResult> {
    const run = async (m: EntityManager) => {
      const result = await this.bindIn(m, request);
      if (result.ok) {
        await this.options.audit.record(
          {
            type: 'bind',
            accountId: request.accountId,
            openid: request.openid,
            ip: request.context.ip,
            userAgent: request.context.userAgent,
          },
          m,
        );
      }
      return result;
    };
    if (manager) return run(manager);
    const result = await this.options.db.transaction(run);
    if (result.ok) await this.announceChange(request.openid);
    return result;
  }

  /** Tells every instance that `openid`'s binding changed; call only after the change committed. Never rejects. */
  async announceChange(openid: string): Promise<void> {
    await this.options.changes?.announceChange(openid);
  }

  /**
   * Removes one of the account's bindings (微信解绑), under the same account-row lock as bind, so an
   * unbind and a bind of one account never interleave. Null when the binding is not that account's.
   */
  async unbind(
    accountId: string,
    bindingId: string,
    context: { ip: string; userAgent: string; portal?: string | null },
  ): Promise<WechatBinding | null> {
    const removed = await this.options.db.transaction(async (manager) => {
      await this.lockAccount(manager, accountId);
      const bindings = manager.getRepository(WechatBindingEntity);
      const binding = await bindings.findOneBy({ id: bindingId, accountId });
      if (!binding) return null;
      await bindings.delete({ id: bindingId, accountId });
      await this.options.audit.record({ type: 'unbind', accountId, openid: binding.openid, ...context }, manager);
      return binding;
    });
    if (removed) {
      await this.announceChange(removed.openid);
      await this.endLogins(removed.openid, context);
      await this.options.onUnbound?.(accountId).catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'after unbind: the sessions of the account were not ended');
      });
    }
    return removed;
  }

  /**
   * Ends the logins the unbound WeChat has under way. The unbind has committed whatever happens
   * here: a failure is logged, and 确定登录 and redeem still refuse (they check the binding).
   */
  private async endLogins(openid: string, context: { ip: string; userAgent: string }): Promise<void> {
    try {
      await this.options.logins?.endLoginsOf(openid, { ip: context.ip, userAgent: context.userAgent });
    } catch (error) {
      this.options.logger.error(
        { err: error },
        'unbound, but its open logins were not ended: confirm and redeem refuse them',
      );
    }
  }

  private async lockAccount(manager: EntityManager, accountId: string) {
    const query = manager
      .getRepository(AccountEntity)
      .createQueryBuilder('a')
      .select('a.id')
      .where('a.id = :id', { id: accountId });
    // SQLite (the embedded demo) has no row locks; it serialises write transactions anyway.
    if (['mysql', 'mariadb'].includes(this.options.db.options.type)) query.setLock('pessimistic_write');
    return query.getOne();
  }

  private async bindIn(manager: EntityManager, request: BindRequest): Promise<BindResult> {
    const account = await this.lockAccount(manager, request.accountId);
    if (!account) return { ok: false, reason: 'account_missing' };
    const bindings = manager.getRepository(WechatBindingEntity);
    const existing = await bindings.findOneBy({ openid: request.openid });
    if (existing) return { ok: false, reason: 'openid_already_bound', binding: existing };
    if ((await bindings.countBy({ accountId: request.accountId })) >= this.options.maxBindingsPerAccount) {
      return { ok: false, reason: 'account_full' };
    }
    const binding: WechatBinding = {
      id: randomUUID(),
      accountId: request.accountId,
      openid: request.openid,
      unionid: request.unionid ?? null,
      nickname: request.nickname ?? null,
      subscribed: true,
      boundAt: new Date(this.options.clock.now()),
    };
    try {
      await bindings.insert(binding);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // A concurrent bind of this openid committed first. This transaction's REPEATABLE READ
      // snapshot predates that commit, so a plain read would not see the winner: a locking read
      // reads the latest committed row.
      const query = bindings.createQueryBuilder('b').where('b.openid = :openid', { openid: request.openid });
      if (['mysql', 'mariadb'].includes(this.options.db.options.type)) query.setLock('pessimistic_read');
      const winner = await query.getOne();
      if (winner) return { ok: false, reason: 'openid_already_bound', binding: winner };
      throw error;
    }
    return { ok: true, binding };
  }
}
