import { EntitySchema } from 'typeorm';
import type { Account } from '../accounts/Account';

/** A live link between a WeChat openid and a portal account; history lives in the audit log. */
export interface WechatBinding {
  id: string;
  accountId: string;
  openid: string;
  unionid: string | null;
  nickname: string | null;
  subscribed: boolean;
  boundAt: Date;
  /** Loaded only when asked for; the foreign key is declared through it. */
  account?: Account;
}

export const WechatBindingEntity = new EntitySchema<WechatBinding>({
  name: 'WechatBinding',
  tableName: 'wechat_bindings',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { name: 'account_id', type: 'varchar', length: 36 },
    openid: { type: 'varchar', length: 64 },
    unionid: { type: 'varchar', length: 64, nullable: true },
    nickname: { type: 'varchar', length: 255, nullable: true },
    subscribed: { type: 'boolean', default: true },
    boundAt: { name: 'bound_at', type: 'datetime', precision: 3 },
  },
  relations: {
    account: {
      type: 'many-to-one',
      target: 'Account',
      joinColumn: { name: 'account_id', foreignKeyConstraintName: 'FK_wechat_bindings_account' },
      onDelete: 'CASCADE',
    },
  },
  indices: [
    { name: 'UQ_wechat_bindings_openid', columns: ['openid'], unique: true },
    { name: 'IDX_wechat_bindings_account', columns: ['accountId'] },
  ],
});
