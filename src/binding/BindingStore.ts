import type { DataSource, Repository } from 'typeorm';
import { WechatBindingEntity, type WechatBinding } from './WechatBinding';

/** Reads and writes the live WeChat bindings in MySQL. */
export class BindingStore {
  private readonly repository: Repository<WechatBinding>;

  constructor(db: DataSource) {
    this.repository = db.getRepository(WechatBindingEntity);
  }

  findByOpenid(openid: string): Promise<WechatBinding | null> {
    return this.repository.findOneBy({ openid });
  }

  /**
   * Only the account id of the openid's binding: one indexed column, no entity hydration, for the
   * scan hot path's BoundAccountCache misses.
   */
  async accountIdFor(openid: string): Promise<string | null> {
    const row = await this.repository
      .createQueryBuilder('b')
      .select('b.accountId', 'accountId')
      .where('b.openid = :openid', { openid })
      .getRawOne<{ accountId: string }>();
    return row?.accountId ?? null;
  }

  listForAccount(accountId: string): Promise<WechatBinding[]> {
    return this.repository.find({ where: { accountId }, order: { boundAt: 'ASC' } });
  }

  /**
   * Follows and unfollows keep the binding; only the flag changes. Returns whether a binding exists.
   * Not announced on the binding change feed: BoundAccountCache holds only the account id.
   */
  async setSubscribed(openid: string, subscribed: boolean): Promise<boolean> {
    const result = await this.repository.update({ openid }, { subscribed });
    return (result.affected ?? 0) > 0;
  }
}
