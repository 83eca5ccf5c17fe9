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

  listForAccount(accountId: string): Promise<WechatBinding[]> {
    return this.repository.find({ where: { accountId }, order: { boundAt: 'ASC' } });
  }

  /** Follows and unfollows keep the binding; only the flag changes. Returns whether a binding exists. */
  async setSubscribed(openid: string, subscribed: boolean): Promise<boolean> {
    const result = await this.repository.update({ openid }, { subscribed });
    return (result.affected ?? 0) > 0;
  }
}
