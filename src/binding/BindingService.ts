import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { AccountEntity } from '../accounts/Account';
import type { AuditLog } from '../audit/AuditLog';
import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
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
}

const isDuplicateKey = (error: unknown) => /ER_DUP_ENTRY|UNIQUE constraint failed/.test(String((error as { code?: string }).code ?? (error as Error).message));

/**
 * Links a WeChat openid to an account: one account per openid (a unique index), at most
 * MAX_BINDINGS_PER_ACCOUNT openids per account (checked under a lock on the account row, so two
 * concurrent binds cannot both pass the count).
 */
export class BindingService {
  constructor(private readonly options: BindingServiceOptions) {}

  async bind(request: BindRequest, manager?: EntityManager): Promise<BindResult> {
    const run = (m: EntityManager) => this.bindIn(m, request);
    const result = manager ? await run(manager) : await this.options.db.transaction(run);
    if (result.ok) {
      await this.options.audit.record({
        type: 'bind', accountId: request.accountId, openid: request.openid, ip: request.context.ip, userAgent: request.context.userAgent,
      });
    }
    return result;
  }

  private async bindIn(manager: EntityManager, request: BindRequest): Promise<BindResult> {
    const query = manager.getRepository(AccountEntity).createQueryBuilder('a')
      .select('a.id')
      .where('a.id = :id', { id: request.accountId });
    // SQLite (the embedded demo) has no row locks; it serialises write transactions anyway.
    if (['mysql', 'mariadb'].includes(this.options.db.options.type)) query.setLock('pessimistic_write');
    const account = await query.getOne();
    if (!account) return { ok: false, reason: 'account_missing' };
    const bindings = manager.getRepository(WechatBindingEntity);
    const existing = await bindings.findOneBy({ openid: request.openid });
    if (existing) return { ok: false, reason: 'openid_already_bound', binding: existing };
    if (await bindings.countBy({ accountId: request.accountId }) >= this.options.maxBindingsPerAccount) {
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
      const winner = await bindings.findOneBy({ openid: request.openid });
      if (winner) return { ok: false, reason: 'openid_already_bound', binding: winner };
      throw error;
    }
    return { ok: true, binding };
  }
}
