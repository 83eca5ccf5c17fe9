import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { AccountEntity } from '../accounts/Account';
import { AuditEventEntity } from '../audit/AuditEvent';
import { WechatBindingEntity } from '../binding/WechatBinding';
import { InitialSchema1764374400000 } from './migrations/1764374400000-InitialSchema';
import { AccountLoginFailures1764460800000 } from './migrations/1764460800000-AccountLoginFailures';

export const entities = [AccountEntity, WechatBindingEntity, AuditEventEntity];
export const migrations = [InitialSchema1764374400000, AccountLoginFailures1764460800000];

/**
 * Connects to `DATABASE_URL` (mysql://…). MariaDB, MySQL and TiDB all speak the MySQL protocol, but
 * typeorm reads MariaDB's catalogue differently (column defaults), so the dialect is picked from
 * the server's version string. The schema comes only from migrations: `synchronize` is off.
 */
export async function connectDataSource(databaseUrl: string): Promise<DataSource> {
  if (!databaseUrl.startsWith('mysql://')) throw new Error('DATABASE_URL must be a mysql:// URL');
  const probe = await createConnection({ uri: databaseUrl, connectTimeout: 3000 });
  let version: string;
  try {
    const [rows] = await probe.query('SELECT VERSION() AS v');
    version = String((rows as { v: string }[])[0]?.v ?? '');
  } finally {
    await probe.end();
  }
  const db = new DataSource({
    type: /mariadb/i.test(version) ? 'mariadb' : 'mysql',
    url: databaseUrl,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    // Fail fast when MySQL is unreachable instead of holding requests for the driver's 10 s default.
    connectTimeout: 3000,
    extra: { connectionLimit: 20, enableKeepAlive: true },
    logging: false,
  });
  return db.initialize();
}
