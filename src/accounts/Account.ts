import { EntitySchema } from 'typeorm';

/**
 * A portal account. ID and phone numbers are stored only encrypted; the *Index columns are keyed
 * hashes. The login name is one the taxpayer chose, never an ID or mobile number (those log in
 * through their indexes), so most accounts have none.
 */
export interface Account {
  id: string;
  loginName: string | null;
  passwordHash: string;
  realName: string;
  idNumberEncrypted: string;
  idNumberIndex: string;
  phoneEncrypted: string;
  phoneIndex: string;
  createdAt: Date;
}

export const AccountEntity = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    loginName: { name: 'login_name', type: 'varchar', length: 64, nullable: true },
    passwordHash: { name: 'password_hash', type: 'varchar', length: 255 },
    realName: { name: 'real_name', type: 'varchar', length: 255 },
    idNumberEncrypted: { name: 'id_number', type: 'varchar', length: 255 },
    idNumberIndex: { name: 'id_number_index', type: 'varchar', length: 64 },
    phoneEncrypted: { name: 'phone', type: 'varchar', length: 255 },
    phoneIndex: { name: 'phone_index', type: 'varchar', length: 64 },
    createdAt: { name: 'created_at', type: 'datetime', precision: 3 },
  },
  indices: [
    { name: 'UQ_accounts_login_name', columns: ['loginName'], unique: true },
    { name: 'UQ_accounts_id_number_index', columns: ['idNumberIndex'], unique: true },
    { name: 'UQ_accounts_phone_index', columns: ['phoneIndex'], unique: true },
  ],
});
