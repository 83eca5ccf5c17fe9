import { In, IsNull, type DataSource, type EntityManager, type QueryDeepPartialEntity } from 'typeorm';
import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
import { maskOpenid } from '../security/masking';
import { AuditEventEntity, type AuditEvent, type AuditEventType } from './AuditEvent';
import { AuditRowWriter } from './AuditRowWriter';
import { isRefusalType, type RefusalAuditCap } from './RefusalAuditCap';

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
 *
 * Refusals (`*_failed`) pass `refusals` first, the one place that keeps a client's flood of them
 * from filling the table: past its limit a client's refusals of a type are stored no more until
 * the window ends (the first one over is stored, marked `capped`), and only logged at debug level.
 */
export class AuditLog {
  private readonly writer: AuditRowWriter;

  constructor(
    private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly refusals: RefusalAuditCap | null = null,
  ) {
    this.writer = new AuditRowWriter(db);
  }

  /**
   * The account's latest logins and binding changes, newest first: redeemed scan logins, portal
   * password logins (an `authenticate_succeeded` without a WeChat user; the 实名绑定 form's carry
   * its openid), binds, registrations (which bind) and unbinds.
   */
  loginHistory(accountId: string, limit: number): Promise<AuditEvent[]> {
    return this.db.getRepository(AuditEventEntity).find({
      where: [
        { accountId, type: In(['login_redeemed', 'bind', 'register', 'unbind']) },
        { accountId, type: 'authenticate_succeeded', openid: IsNull() },
      ],
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
    });
  }

  /**
   * Resolves once the row is committed. Pass `manager` to write it inside a caller's transaction (it
   * then commits or rolls back with it); without one, rows written at the same time share INSERTs.
   */
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
    if (!manager && isRefusalType(row.type)) {
      const admission = await this.admitRefusal(row);
      if (admission.store === 'no_row') {
        this.logger.debug(
          { audit: AuditLog.logged(row) },
          `audit: ${row.type} (row not stored: client over its refusal cap)`,
        );
        return;
      }
      if (admission.store === 'last_row')
        row.detail = { ...row.detail, capped: { until: admission.until.toISOString() } };
    }
    if (manager) {
      // typeorm's deep-partial type cannot see into `Record<string, unknown>`; the row is a whole AuditEvent.
      await manager.getRepository(AuditEventEntity).insert(row as QueryDeepPartialEntity<AuditEvent>);
    } else {
      await this.writer.write(row);
    }
    this.logger.info({ audit: AuditLog.logged(row) }, `audit: ${row.type}`);
  }

  /**
   * For an event whose change is already stored elsewhere (a login ticket in Redis): MySQL failing
   * now must not turn that change into an error for the user, so the event goes to the log at
   * error level instead of its row. Returns whether the row was written.
   */
  async recordOrLog(entry: AuditEntry): Promise<boolean> {
    try {
      await this.record(entry);
      return true;
    } catch (error) {
      const row = {
        type: entry.type,
        accountId: entry.accountId ?? null,
        openid: entry.openid ?? null,
        ip: entry.ip ?? null,
        detail: entry.detail ?? null,
      };
      // Not the error object itself: a failed INSERT carries its parameters (the unmasked row).
      const reason = {
        name: (error as Error).name,
        code: (error as { code?: unknown }).code,
        message: (error as Error).message,
      };
      this.logger.error({ reason, audit: AuditLog.logged(row) }, `audit: ${entry.type} (row not stored)`);
      return false;
    }
  }

  /** Fails open: a refusal whose cap cannot be counted (Redis unreachable) is stored. */
  private async admitRefusal(row: AuditEvent) {
    if (!this.refusals) return { store: 'row' as const };
    try {
      return await this.refusals.admit(row.type, { openid: row.openid, ip: row.ip }, this.clock.now());
    } catch (error) {
      this.logger.warn({ err: error }, 'audit: refusal cap not counted, row stored');
      return { store: 'row' as const };
    }
  }

  /** INSERT statements this log has issued outside transactions (rows written together share one). */
  get statements(): number {
    return this.writer.statements;
  }

  /** Settles once every row recorded so far is committed or refused: call before closing the database. */
  idle(): Promise<void> {
    return this.writer.idle();
  }

  private static logged(row: Pick<AuditEvent, 'type' | 'accountId' | 'openid' | 'ip' | 'detail'>) {
    return {
      type: row.type,
      accountId: row.accountId,
      openid: row.openid ? maskOpenid(row.openid) : null,
      ip: row.ip,
      detail: row.detail,
    };
  }
}
