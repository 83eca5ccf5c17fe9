import assert from 'node:assert/strict';
import { connectDataSource } from '../../src/db/connectDataSource';
import { testRun } from '../support/testEnv';

describe('db/migrations', () => {
  it('leave nothing for the entities to change (schema and entities agree)', async () => {
    const db = await connectDataSource(testRun.databaseUrl);
    try {
      const pending = await db.driver.createSchemaBuilder().log();
      assert.deepEqual(
        pending.upQueries.map((q) => q.query),
        [],
      );
      assert.equal(await db.showMigrations(), false);
    } finally {
      await db.destroy();
    }
  });

  it('enforce one binding per openid and unique ID/phone indexes in MySQL itself', async () => {
    const db = await connectDataSource(testRun.databaseUrl);
    try {
      const indexes = await db.query<{ t: string; c: string }[]>(
        "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'",
        [testRun.databaseName],
      );
      const unique = indexes.map((i) => `${i.t}.${i.c}`).sort();
      assert.deepEqual(unique, [
        'accounts.id_number_index',
        'accounts.login_name',
        'accounts.phone_index',
        'wechat_bindings.openid',
      ]);
    } finally {
      await db.destroy();
    }
  });
});
