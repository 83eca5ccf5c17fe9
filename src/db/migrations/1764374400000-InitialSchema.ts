import { Table, TableForeignKey, type MigrationInterface, type QueryRunner } from 'typeorm';

// Written with typeorm's Table API, not raw SQL, so the same migration runs on MySQL/MariaDB/TiDB
// and on the embedded SQLite of the demo.
export class InitialSchema1764374400000 implements MigrationInterface {
  name = 'InitialSchema1764374400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'accounts',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'login_name', type: 'varchar', length: '64' },
          { name: 'password_hash', type: 'varchar', length: '255' },
          { name: 'real_name', type: 'varchar', length: '255' },
          { name: 'id_number', type: 'varchar', length: '255' },
          { name: 'id_number_index', type: 'varchar', length: '64' },
          { name: 'phone', type: 'varchar', length: '255' },
          { name: 'phone_index', type: 'varchar', length: '64' },
          { name: 'failed_logins', type: 'int', default: 0 },
          { name: 'locked_until', type: 'datetime', precision: 3, isNullable: true },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
        indices: [
          { name: 'UQ_accounts_login_name', columnNames: ['login_name'], isUnique: true },
          { name: 'UQ_accounts_id_number_index', columnNames: ['id_number_index'], isUnique: true },
          { name: 'UQ_accounts_phone_index', columnNames: ['phone_index'], isUnique: true },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'wechat_bindings',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '36' },
          { name: 'openid', type: 'varchar', length: '64' },
          { name: 'unionid', type: 'varchar', length: '64', isNullable: true },
          { name: 'nickname', type: 'varchar', length: '255', isNullable: true },
          { name: 'subscribed', type: 'boolean', default: true },
          { name: 'bound_at', type: 'datetime', precision: 3 },
        ],
        indices: [
          { name: 'UQ_wechat_bindings_openid', columnNames: ['openid'], isUnique: true },
          { name: 'IDX_wechat_bindings_account', columnNames: ['account_id'] },
        ],
      }),
    );
    await queryRunner.createForeignKey(
      'wechat_bindings',
      new TableForeignKey({
        name: 'FK_wechat_bindings_account',
        columnNames: ['account_id'],
        referencedTableName: 'accounts',
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
        onUpdate: 'NO ACTION',
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'type', type: 'varchar', length: '32' },
          { name: 'account_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'openid', type: 'varchar', length: '64', isNullable: true },
          { name: 'ip', type: 'varchar', length: '64', isNullable: true },
          { name: 'user_agent', type: 'varchar', length: '512', isNullable: true },
          { name: 'detail', type: 'text', isNullable: true },
          { name: 'created_at', type: 'datetime', precision: 3 },
        ],
        indices: [
          { name: 'IDX_audit_events_account', columnNames: ['account_id', 'created_at'] },
          { name: 'IDX_audit_events_openid', columnNames: ['openid', 'created_at'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
    await queryRunner.dropTable('wechat_bindings');
    await queryRunner.dropTable('accounts');
  }
}
