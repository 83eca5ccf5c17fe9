import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

// When the last failed login happened: failures older than the lockout window restart the count.
// Table API, not raw SQL, so it runs on every engine the initial schema does.
export class AccountLoginFailures1764460800000 implements MigrationInterface {
  name = 'AccountLoginFailures1764460800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'accounts',
      new TableColumn({
        name: 'last_failed_at',
        type: 'datetime',
        precision: 3,
        isNullable: true,
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('accounts', 'last_failed_at');
  }
}
