import { QueryFailedError, type DataSource, type EntityManager, type Repository } from 'typeorm';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import { AccountEntity, type Account } from './Account';
import { AccountConflictError, type AccountConflictField } from './AccountConflictError';
import { LoginNameRefusedError } from './LoginNameRefusedError';
import { isAllowedLoginName, looksLikeIdNumber, looksLikeMobileNumber, normalizeIdNumber } from './personalNumbers';

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
