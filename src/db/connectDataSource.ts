import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { AccountEntity } from '../accounts/Account';
import { AuditEventEntity } from '../audit/AuditEvent';
import { WechatBindingEntity } from '../binding/WechatBinding';
import { InitialSchema1764374400000 } from './migrations/1764374400000-InitialSchema';
import { AccountLoginFailures1764460800000 } from './migrations/1764460800000-AccountLoginFailures';
import { NoPersonalNumbersInLoginNames1764806400000 } from './migrations/1764806400000-NoPersonalNumbersInLoginNames';
import { NoAccountLockout1765152000000 } from './migrations/1765152000000-NoAccountLockout';

export const entities = [AccountEntity, WechatBindingEntity, AuditEventEntity];
export const migrations = [
  InitialSchema1764374400000,
  AccountLoginFailures1764460800000,
  NoPersonalNumbersInLoginNames1764806400000,
  NoAccountLockout1765152000000,
];

/**
 * Connects to `DATABASE_URL`: `mysql://…` for production (MariaDB, MySQL and TiDB all speak the
 * MySQL protocol, but typeorm reads MariaDB's catalogue differently, so the dialect is picked from
 * the server's version string), or `sqlite:PATH` for the embedded demo (better-sqlite3; pending
 * migrations are applied at start, since the demo has no separate deploy step). The schema comes
 * only from migrations: `synchronize` is off.
 */
export async function connectDataSource(databaseUrl: string): Promise<DataSource> {
  if (databaseUrl.startsWith('sqlite:')) return connectSqlite(databaseUrl.slice('sqlite:'.length));
  if (!databaseUrl.startsWith('mysql://')) throw new Error('DATABASE_URL must be a mysql:// URL or sqlite:PATH');
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

async function connectSqlite(file: string): Promise<DataSource> {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DataSource({
    type: 'better-sqlite3',
    database: file,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: true,
    // WAL lets readers work while a write transaction is open; foreign keys are off by default in SQLite.
    prepareDatabase: (sqlite: { pragma(statement: string): unknown }) => {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('busy_timeout = 5000');
    },
    logging: false,
  });
  return db.initialize();
}
