import { QueryFailedError, type DataSource, type EntityManager, type Repository } from 'typeorm';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import { AccountEntity, type Account } from './Account';
import { AccountConflictError, type AccountConflictField } from './AccountConflictError';
import { LoginNameRefusedError } from './LoginNameRefusedError';
import { isAllowedLoginName, looksLikeIdNumber, looksLikeMobileNumber, normalizeIdNumber } from './personalNumbers';

/** The inputs of one failed-login count, decided by the caller (AccountService owns the policy). */
export interface FailureCountRule {
  now: Date;
  /** A previous failure at or before this instant no longer counts: the count restarts at 1. */
  windowStart: Date;
  maxFailures: number;
  /** Set as locked_until when this failure brings the count to maxFailures. */
  lockUntil: Date;
}

export interface FailureCount {
  failedLogins: number;
  lockedUntil: Date | null;
}

/** Unique values the conflict check looks at. */
type UniqueValues = Pick<Account, 'loginName' | 'idNumberIndex' | 'phoneIndex'>;

// Which field a unique index guards, by the index and column names a duplicate-key error quotes.
const UNIQUE_FIELDS: [string, AccountConflictField][] = [
  ['id_number_index', 'idNumber'],
  ['phone_index', 'phone'],
  ['login_name', 'loginName'],
];

/** Reads and writes accounts in MySQL. ID and phone numbers arrive here already encrypted and indexed. */
export class AccountStore {
  private readonly repository: Repository<Account>;

  constructor(
    private readonly db: DataSource,
    private readonly protector: PersonalDataProtector,
  ) {
    this.repository = db.getRepository(AccountEntity);
  }

  findById(id: string, manager?: EntityManager): Promise<Account | null> {
    return this.repositoryOf(manager).findOneBy({ id });
  }

  /**
   * 登录账号 as typed: an ID number (lower-case x accepted) or a mainland mobile number is looked up
   * through its index (no login name can look like one); anything else is a chosen login name.
   */
  async findByLoginIdentifier(identifier: string): Promise<Account | null> {
    if (looksLikeIdNumber(identifier)) {
      return this.repository.findOneBy({
        idNumberIndex: this.protector.index('id_number', normalizeIdNumber(identifier)),
      });
    }
    if (looksLikeMobileNumber(identifier)) {
      return this.repository.findOneBy({ phoneIndex: this.protector.index('phone', identifier) });
    }
    if (!isAllowedLoginName(identifier)) return null;
    return this.repository.findOneBy({ loginName: identifier });
  }

  /** The field another account already holds, ID number before phone before login name; null when all are free. */
  async findConflict(values: UniqueValues, manager?: EntityManager): Promise<AccountConflictField | null> {
    const holders = await this.repositoryOf(manager).find({
      select: { id: true, loginName: true, idNumberIndex: true, phoneIndex: true },
      where: [
        { idNumberIndex: values.idNumberIndex },
        { phoneIndex: values.phoneIndex },
        ...(values.loginName === null ? [] : [{ loginName: values.loginName }]),
      ],
      take: 3,
    });
    if (holders.length === 0) return null;
    if (holders.some((a) => a.idNumberIndex === values.idNumberIndex)) return 'idNumber';
    if (holders.some((a) => a.phoneIndex === values.phoneIndex)) return 'phone';
    // What is left matched the login name (MySQL compares it case-insensitively).
    return 'loginName';
  }

  /**
   * Inserts the account; a unique index that refuses it (also when a concurrent insert won the race)
   * becomes an AccountConflictError naming the field. A login name that could carry an ID or mobile
   * number is refused before anything is written: it would sit in clear beside the encrypted copy.
   */
  async insert(account: Account, manager?: EntityManager): Promise<void> {
    if (account.loginName !== null && !isAllowedLoginName(account.loginName)) throw new LoginNameRefusedError();
    try {
      await this.repositoryOf(manager).insert(account);
    } catch (error) {
      const field = duplicateFieldOf(error) ?? (isDuplicateKey(error) ? await this.findConflict(account) : null);
      if (field) throw new AccountConflictError(field);
      throw error;
    }
  }

  /**
   * Counts one failed login in ONE UPDATE, so concurrent failures serialise on the row: the count
   * restarts at 1 when the last failure is older than the window (or ended in a lock that has
   * expired), else adds 1; reaching maxFailures sets locked_until. A locked account is not counted:
   * the answer is then null, as it is for an unknown id. The row is read back in the same
   * transaction, which still holds the row lock, so the answer is this failure's own outcome.
   */
  recordFailure(id: string, rule: FailureCountRule): Promise<FailureCount | null> {
    return this.db.transaction(async (manager) => {
      const q = (name: string) => manager.connection.driver.escape(name);
      const [failed, last, locked] = [q('failed_logins'), q('last_failed_at'), q('locked_until')];
      const restarts = `(${last} IS NULL OR ${last} <= :windowStart OR ${failed} >= :maxFailures)`;
      const newCount = `(CASE WHEN ${restarts} THEN 1 ELSE ${failed} + 1 END)`;
      // MySQL evaluates SET left to right with already-assigned values, SQL-standard engines with
      // the old ones: locked_until goes first and last_failed_at last, so both read the same row.
      const [sql, parameters] = manager.connection.driver.escapeQueryWithParameters(
        `UPDATE ${q('accounts')} SET ` +
          `${locked} = CASE WHEN ${newCount} >= :maxFailures THEN :lockUntil ELSE NULL END, ` +
          `${failed} = ${newCount}, ` +
          `${last} = :now ` +
          `WHERE ${q('id')} = :id AND (${locked} IS NULL OR ${locked} <= :now)`,
        { id, now: rule.now, windowStart: rule.windowStart, maxFailures: rule.maxFailures, lockUntil: rule.lockUntil },
      );
      // The structured result carries the affected-row count on every driver.
      const result = await manager.queryRunner!.query(sql, parameters, true);
      if ((result.affected ?? 0) === 0) return null;
      const after = await manager.getRepository(AccountEntity).findOne({
        select: { id: true, failedLogins: true, lockedUntil: true },
        where: { id },
      });
      if (!after) return null;
      return { failedLogins: after.failedLogins, lockedUntil: after.lockedUntil };
    });
  }

  /**
   * A successful login clears the count, unless a concurrent failure locked the account in the
   * meantime (then false: the lock stands).
   */
  async clearFailures(id: string, now: Date): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .update(AccountEntity)
      .set({ failedLogins: 0, lastFailedAt: null, lockedUntil: null })
      .where('id = :id AND (locked_until IS NULL OR locked_until <= :now)', { id, now })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Forgets every failed login and lifts any lock (after the owner proved who they are and set a new password). */
  async resetFailures(id: string): Promise<void> {
    await this.repository.update({ id }, { failedLogins: 0, lastFailedAt: null, lockedUntil: null });
  }

  /** Replaces the password hash; false for an unknown id. */
  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    const result = await this.repository.update({ id }, { passwordHash });
    return (result.affected ?? 0) > 0;
  }

  private repositoryOf(manager?: EntityManager): Repository<Account> {
    return manager ? manager.getRepository(AccountEntity) : this.repository;
  }
}

function isDuplicateKey(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; errno?: number } | undefined;
  return (
    driverError?.code === 'ER_DUP_ENTRY' ||
    driverError?.errno === 1062 ||
    /UNIQUE constraint failed/.test(error.message)
  );
}

/** The field named by a duplicate-key error: MySQL quotes the index ("for key 'accounts.UQ_…'"), SQLite the column. */
function duplicateFieldOf(error: unknown): AccountConflictField | null {
  if (!isDuplicateKey(error)) return null;
  const message = (error as Error).message;
  // Only the key part: the duplicate value itself is quoted earlier in the message and could contain anything.
  const key = /for key '([^']+)'/.exec(message)?.[1] ?? /UNIQUE constraint failed: (.+)$/.exec(message)?.[1] ?? '';
  return UNIQUE_FIELDS.find(([name]) => key.includes(name))?.[1] ?? null;
}
