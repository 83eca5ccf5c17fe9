import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isAllowedLoginName } from '../../accounts/personalNumbers';

const BATCH = 1000;

/**
 * The column as it is, with only its nullability changed: a fresh TableColumn would read as "not
 * unique" and make typeorm drop the unique index on MySQL.
 */
async function setLoginNameNullable(queryRunner: QueryRunner, isNullable: boolean): Promise<void> {
  const table = (await queryRunner.getTable('accounts'))!;
  const current = table.findColumnByName('login_name')!;
  const changed = current.clone();
  changed.isNullable = isNullable;
  await queryRunner.changeColumn(table, current, changed);
}

/**
 * Registration used to set the login name to the ID number, so `accounts.login_name` (and its
 * unique index) held every registered ID number in clear beside the encrypted copy. Login names
 * become optional and every one that could carry an ID or mobile number is cleared: those accounts
 * log in by ID number or phone through the keyed-hash indexes, as they already could.
 * Table API and portable SQL, so it runs on MySQL/MariaDB and on the demo's SQLite.
 */
export class NoPersonalNumbersInLoginNames1764806400000 implements MigrationInterface {
  name = 'NoPersonalNumbersInLoginNames1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await setLoginNameNullable(queryRunner, true);
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    let after = '';
    for (;;) {
      const rows = (await queryRunner.query(
        `SELECT ${q('id')} AS id, ${q('login_name')} AS login_name FROM ${q('accounts')} ` +
          `WHERE ${q('id')} > ? AND ${q('login_name')} IS NOT NULL ORDER BY ${q('id')} LIMIT ${BATCH}`,
        [after],
      )) as { id: string; login_name: string }[];
      if (rows.length === 0) return;
      const cleared = rows.filter((row) => !isAllowedLoginName(row.login_name)).map((row) => row.id);
      if (cleared.length > 0) {
        await queryRunner.query(
          `UPDATE ${q('accounts')} SET ${q('login_name')} = NULL WHERE ${q('id')} IN (${cleared.map(() => '?').join(', ')})`,
          cleared,
        );
      }
      after = rows[rows.length - 1]!.id;
    }
  }

  /**
   * What cannot be restored: the cleared login names were ID and mobile numbers, and a revert does
   * not write them back in clear. Each such account gets its own id as login name (the old schema
   * needs one; nobody types it) and keeps logging in by ID number or phone through the indexes,
   * which the previous version looked up too.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    await queryRunner.query(
      `UPDATE ${q('accounts')} SET ${q('login_name')} = ${q('id')} WHERE ${q('login_name')} IS NULL`,
    );
    // SQLite changes a column by copying the table and dropping the old one, and typeorm's revert
    // runs inside a transaction, where foreign keys cannot be switched off: the drop would cascade to
    // the bindings. They are read first and put back.
    const sqlite = queryRunner.connection.driver.options.type === 'better-sqlite3';
    const bindings = sqlite
      ? ((await queryRunner.query(`SELECT * FROM ${q('wechat_bindings')}`)) as Record<string, unknown>[])
      : [];
    await setLoginNameNullable(queryRunner, false);
    if (sqlite && bindings.length > 0) {
      const [{ n }] = (await queryRunner.query(`SELECT COUNT(*) AS n FROM ${q('wechat_bindings')}`)) as [{ n: number }];
      if (n === 0) {
        for (const binding of bindings) {
          const columns = Object.keys(binding);
          await queryRunner.query(
            `INSERT INTO ${q('wechat_bindings')} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
            Object.values(binding),
          );
        }
      }
    }
  }
}
