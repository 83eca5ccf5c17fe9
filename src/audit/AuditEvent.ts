import { EntitySchema } from 'typeorm';

export type AuditEventType =
  | 'register'
  | 'bind'
  | 'unbind'
  | 'bind_failed'
  | 'register_failed'
  | 'login_scanned'
  | 'login_confirmed'
  | 'login_redeemed'
  | 'login_cancelled'
  | 'authenticate_succeeded'
  | 'authenticate_failed'
  | 'password_reset_started'
  | 'password_reset'
  | 'password_reset_failed'
  | 'password_changed'
  | 'password_change_failed'
  | 'subscribe'
  | 'unsubscribe';

/** One security-relevant event. `detail` never holds secrets or unmasked personal data. */
export interface AuditEvent {
  id?: number;
  type: AuditEventType;
  accountId: string | null;
  openid: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown> | null;
  createdAt: Date;
}

export const AuditEventEntity = new EntitySchema<AuditEvent>({
  name: 'AuditEvent',
  tableName: 'audit_events',
  columns: {
    id: { type: 'integer', primary: true, generated: 'increment' },
    type: { type: 'varchar', length: 32 },
    accountId: { name: 'account_id', type: 'varchar', length: 36, nullable: true },
    openid: { type: 'varchar', length: 64, nullable: true },
    ip: { type: 'varchar', length: 64, nullable: true },
    userAgent: { name: 'user_agent', type: 'varchar', length: 512, nullable: true },
    detail: { type: 'simple-json', nullable: true },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3 },
  },
  indices: [
    { name: 'IDX_audit_events_account', columns: ['accountId', 'createdAt'] },
    { name: 'IDX_audit_events_openid', columns: ['openid', 'createdAt'] },
  ],
});
