import type { DataSource, EntityManager, QueryDeepPartialEntity } from 'typeorm';
import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
import { maskOpenid } from '../security/masking';
import { AuditEventEntity, type AuditEvent, type AuditEventType } from './AuditEvent';

export interface AuditEntry {
  type: AuditEventType;
  accountId?: string | null;
  openid?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Already masked by the caller: never secrets or unmasked ID/phone numbers. */
  detail?: Record<string, unknown>;
}

const MAX_IP = 64;
const MAX_USER_AGENT = 512;

/**
 * Security-relevant events: one `audit_events` row and one info log line each (ASVS V16.3.1:
 * authentication events are logged). The log line carries the openid masked.
 */
export class AuditLog {
  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Pass `manager` to write the row inside a caller's transaction (it then commits or rolls back with it). */
  async record(entry: AuditEntry, manager?: EntityManager): Promise<void> {
    const row: AuditEvent = {
      type: entry.type,
      accountId: entry.accountId ?? null,
      openid: entry.openid ?? null,
      ip: entry.ip ? entry.ip.slice(0, MAX_IP) : null,
      userAgent: entry.userAgent ? entry.userAgent.slice(0, MAX_USER_AGENT) : null,
      detail: entry.detail ?? null,
      createdAt: new Date(this.clock.now()),
    };
    // typeorm's deep-partial type cannot see into `Record<string, unknown>`; the row is a whole AuditEvent.
    await (manager ?? this.db.manager).getRepository(AuditEventEntity).insert(row as QueryDeepPartialEntity<AuditEvent>);
    this.logger.info({
      audit: {
        type: row.type,
        accountId: row.accountId,
        openid: row.openid ? maskOpenid(row.openid) : null,
        ip: row.ip,
        detail: row.detail,
      },
    }, `audit: ${row.type}`);
  }
}
