import { EntitySchema } from 'typeorm';

/** A portal account. ID and phone numbers are stored encrypted; the *Index columns are keyed hashes. */
export interface Account {
  id: string;
  loginName: string;
  passwordHash: string;
  realName: string;
  idNumberEncrypted: string;
  idNumberIndex: string;
  phoneEncrypted: string;
  phoneIndex: string;
  failedLogins: number;
  lockedUntil: Date | null;
  createdAt: Date;
}

export const AccountEntity = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    loginName: { name: 'login_name', type: 'varchar', length: 64, unique: true },
    passwordHash: { name: 'password_hash', type: 'varchar', length: 255 },
    realName: { name: 'real_name', type: 'varchar', length: 255 },
    idNumberEncrypted: { name: 'id_number', type: 'varchar', length: 255 },
    idNumberIndex: { name: 'id_number_index', type: 'varchar', length: 64, unique: true },
    phoneEncrypted: { name: 'phone', type: 'varchar', length: 255 },
    phoneIndex: { name: 'phone_index', type: 'varchar', length: 64, unique: true },
    failedLogins: { name: 'failed_logins', type: 'int', default: 0 },
    lockedUntil: { name: 'locked_until', type: 'datetime', precision: 3, nullable: true },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3 },
  },
});
