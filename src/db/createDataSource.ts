import { DataSource } from 'typeorm';
import { AccountEntity } from '../accounts/Account';
import { AuditEventEntity } from '../audit/AuditEvent';
import { WechatBindingEntity } from '../binding/WechatBinding';
import { InitialSchema1764374400000 } from './migrations/1764374400000-InitialSchema';

export const entities = [AccountEntity, WechatBindingEntity, AuditEventEntity];
export const migrations = [InitialSchema1764374400000];

/** Builds (does not connect) the DataSource for `DATABASE_URL`; the schema comes only from migrations. */
export function createDataSource(databaseUrl: string): DataSource {
  if (!databaseUrl.startsWith('mysql://')) {
    throw new Error('only mysql:// database URLs are supported by this build');
  }
  return new DataSource({
    type: 'mysql',
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
}
