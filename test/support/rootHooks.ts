import { createConnection } from 'mysql2/promise';
import { createClient } from 'redis';
import { connectDataSource } from '../../src/db/connectDataSource';
import { testRun } from './testEnv';

// mocha's global fixtures: create this run's database and migrate it once, and remove it and this
// run's Redis keys at the end. A missing service stops the run with a sentence saying what to start.
export async function mochaGlobalSetup(): Promise<void> {
  let admin;
  try {
    admin = await createConnection({ uri: testRun.serverUrl, connectTimeout: 3000 });
  } catch (error) {
    throw new Error(
      `MariaDB/MySQL is not reachable at ${testRun.serverUrl} (${(error as Error).message}). ` +
        'Start it (README: prerequisites) or point TEST_DATABASE_URL at one.',
      { cause: error },
    );
  }
  await admin.query(`CREATE DATABASE \`${testRun.databaseName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();

  const redis = createClient({ url: testRun.redisUrl, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `Redis is not reachable at ${testRun.redisUrl} (${(error as Error).message}). ` +
        'Start it (README: prerequisites) or point TEST_REDIS_URL at one.',
      { cause: error },
    );
  } finally {
    if (redis.isOpen) await redis.quit();
  }

  const db = await connectDataSource(testRun.databaseUrl);
  await db.runMigrations();
  await db.destroy();
}

export async function mochaGlobalTeardown(): Promise<void> {
  const admin = await createConnection({ uri: testRun.serverUrl });
  await admin.query(`DROP DATABASE IF EXISTS \`${testRun.databaseName}\``);
  await admin.end();
  const redis = createClient({ url: testRun.redisUrl });
  await redis.connect();
  for await (const keys of redis.scanIterator({ MATCH: `${testRun.redisPrefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await redis.del(keys);
  }
  await redis.quit();
}
