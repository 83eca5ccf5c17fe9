import type { MigrationInterface, QueryRunner } from 'typeorm';

const COLUMNS = ['locked_until', 'last_failed_at', 'failed_logins'];

/**
 * Accounts are no longer locked: failed logins are paced per typed identifier and client in the
 * short-lived stores (LoginThrottle), so the lockout counters go. Plain ALTER TABLE … DROP COLUMN,
 * which MySQL/MariaDB and SQLite (3.35+) both run in place: typeorm's Table API would rebuild the
 * SQLite table, and dropping the old one would cascade to the bindings.
 */
export class NoAccountLockout1765152000000 implements MigrationInterface {
  name = 'NoAccountLockout1765152000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    for (const column of COLUMNS) await queryRunner.query(`ALTER TABLE ${q('accounts')} DROP COLUMN ${q(column)}`);
  }

  /** The columns as they were, every account unlocked with no failures counted. */
  async down(queryRunner: QueryRunner): Promise<void> {
    const q = (name: string) => queryRunner.connection.driver.escape(name);
    const add = (definition: string) => queryRunner.query(`ALTER TABLE ${q('accounts')} ADD COLUMN ${definition}`);
    await add(`${q('failed_logins')} int NOT NULL DEFAULT 0`);
    await add(`${q('last_failed_at')} datetime(3) NULL`);
    await add(`${q('locked_until')} datetime(3) NULL`);
  }
}
