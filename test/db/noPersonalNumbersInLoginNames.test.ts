import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AccountStore } from '../../src/accounts/AccountStore';
import { entities, migrations } from '../../src/db/connectDataSource';
import { PersonalDataProtector } from '../../src/security/PersonalDataProtector';
import { gb11643CheckCharacter } from '../support/accountFixtures';
import { testRun } from '../support/testEnv';

const protector = new PersonalDataProtector(Buffer.alloc(32, 7));
const ID_NUMBER = `35010219900307123${gb11643CheckCharacter('35010219900307123')}`;
const OTHER_ID = `35010219850101456${gb11643CheckCharacter('35010219850101456')}`;
const PHONE = '13800138000';
// Plain values both drivers bind: better-sqlite3 takes no Date or boolean.
const CREATED_AT = '2025-11-30 02:00:00.000';

/** Rows as the previous version wrote them: registration set the login name to the ID number. */
const OLD_ROWS = [
  { id: '00000000-0000-4000-8000-000000000001', loginName: ID_NUMBER, idNumber: ID_NUMBER, phone: PHONE },
  { id: '00000000-0000-4000-8000-000000000002', loginName: 'zhangsan', idNumber: OTHER_ID, phone: '13900139000' },
  // A chosen login name that was a phone number (someone else's, even): cleared too.
  {
    id: '00000000-0000-4000-8000-000000000003',
    loginName: '137 0013 7000',
    idNumber: `35010219700505789${gb11643CheckCharacter('35010219700505789')}`,
    phone: '13700137001',
  },
];

const PREVIOUS = migrations.slice(
  0,
  migrations.findIndex((m) => m.name.startsWith('NoPersonalNumbersInLoginNames')),
);
/** Up to this migration, whatever later ones there are. */
const THROUGH = migrations.slice(0, PREVIOUS.length + 1);

async function writePreviousSchemaRows(db: DataSource): Promise<void> {
  await db.runMigrations();
  const q = (name: string) => db.driver.escape(name);
  for (const row of OLD_ROWS) {
    await db.query(
      `INSERT INTO ${q('accounts')} (${q('id')}, ${q('login_name')}, ${q('password_hash')}, ${q('real_name')}, ` +
        `${q('id_number')}, ${q('id_number_index')}, ${q('phone')}, ${q('phone_index')}, ${q('created_at')}) ` +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        row.id,
        row.loginName,
        '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA',
        '张三',
        protector.encrypt(row.idNumber),
        protector.index('id_number', row.idNumber),
        protector.encrypt(row.phone),
        protector.index('phone', row.phone),
        CREATED_AT,
      ],
    );
  }
  await db.query(
    `INSERT INTO ${q('wechat_bindings')} (${q('id')}, ${q('account_id')}, ${q('openid')}, ${q('subscribed')}, ${q('bound_at')}) ` +
      'VALUES (?, ?, ?, ?, ?)',
    ['10000000-0000-4000-8000-000000000001', OLD_ROWS[0]!.id, 'oMIGRATION0000000000000001', 1, CREATED_AT],
  );
}

async function loginNames(db: DataSource): Promise<Record<string, string | null>> {
  type Row = { id: string; login_name: string | null };
  const rows = await db.query<Row[]>(`SELECT id, login_name FROM accounts ORDER BY id`);
  return Object.fromEntries(rows.map((r) => [r.id, r.login_name]));
}

/** Every migration step on rows of the previous schema, on one engine. */
interface Engine {
  options: DataSourceOptions;
  setup(): Promise<void>;
  cleanup(): Promise<void>;
}

function behavesOn(name: string, engine: Engine): void {
  describe(`db/migrations NoPersonalNumbersInLoginNames on ${name}`, () => {
    before(() => engine.setup());
    after(() => engine.cleanup());

    it('clears every login name that is an ID or mobile number, keeps the others, and keeps bindings and logins by ID or phone', async () => {
      const old = await new DataSource({ ...engine.options, migrations: PREVIOUS }).initialize();
      try {
        await writePreviousSchemaRows(old);
      } finally {
        await old.destroy();
      }

      const db = await new DataSource({ ...engine.options, migrations: THROUGH }).initialize();
      try {
        assert.equal((await db.runMigrations()).length, 1);
        assert.deepEqual(await loginNames(db), {
          [OLD_ROWS[0]!.id]: null,
          [OLD_ROWS[1]!.id]: 'zhangsan',
          [OLD_ROWS[2]!.id]: null,
        });
        const bindings = await db.query<{ account_id: string }[]>('SELECT account_id FROM wechat_bindings');
        assert.deepEqual(
          bindings.map((b) => b.account_id),
          [OLD_ROWS[0]!.id],
          'the binding survives the column change',
        );
        const store = new AccountStore(db, protector);
        assert.equal((await store.findByLoginIdentifier(ID_NUMBER))?.id, OLD_ROWS[0]!.id);
        assert.equal((await store.findByLoginIdentifier(PHONE))?.id, OLD_ROWS[0]!.id);
        assert.equal((await store.findByLoginIdentifier('zhangsan'))?.id, OLD_ROWS[1]!.id);
        const dump = JSON.stringify(await db.query('SELECT * FROM accounts'));
        assert.ok(!dump.includes(ID_NUMBER) && !dump.includes(PHONE) && !dump.includes('137 0013 7000'));
      } finally {
        await db.destroy();
      }
    });

    it('reverts honestly: login names stay without the numbers (the account id instead), the column is required again', async () => {
      const db = await new DataSource({ ...engine.options, migrations: THROUGH }).initialize();
      try {
        await db.undoLastMigration();
        assert.deepEqual(await loginNames(db), {
          [OLD_ROWS[0]!.id]: OLD_ROWS[0]!.id,
          [OLD_ROWS[1]!.id]: 'zhangsan',
          [OLD_ROWS[2]!.id]: OLD_ROWS[2]!.id,
        });
        await assert.rejects(db.query(`UPDATE accounts SET login_name = NULL WHERE id = ?`, [OLD_ROWS[1]!.id]));
        const bindings = await db.query<unknown[]>('SELECT account_id FROM wechat_bindings');
        assert.equal(bindings.length, 1);
      } finally {
        await db.destroy();
      }
    });

    // The next migration on the same rows: the lockout counters go in place, accounts and bindings stay.
    it('then NoAccountLockout drops the lockout columns, keeping accounts and bindings, and reverts to unlocked accounts', async () => {
      const db = await new DataSource(engine.options).initialize();
      const columns = async () =>
        (await db.createQueryRunner().getTable('accounts'))!.columns
          .map((c) => c.name)
          .filter((c) => /fail|lock/.test(c));
      try {
        await db.runMigrations();
        assert.deepEqual(await columns(), []);
        assert.equal((await db.query<unknown[]>('SELECT id FROM accounts')).length, 3);
        assert.equal((await db.query<unknown[]>('SELECT account_id FROM wechat_bindings')).length, 1);
        await db.undoLastMigration();
        assert.deepEqual((await columns()).sort(), ['failed_logins', 'last_failed_at', 'locked_until']);
        const counters = await db.query<{ failed_logins: number | string; locked_until: unknown }[]>(
          'SELECT failed_logins, locked_until FROM accounts',
        );
        assert.deepEqual(
          counters.map((c) => [Number(c.failed_logins), c.locked_until]),
          Array<[number, null]>(3).fill([0, null]),
        );
        assert.equal((await db.query<unknown[]>('SELECT account_id FROM wechat_bindings')).length, 1);
      } finally {
        await db.destroy();
      }
    });
  });
}

const mariadbName = `${testRun.databaseName}_loginnames`;
async function onServer(sql: string): Promise<void> {
  const admin = await createConnection({ uri: testRun.serverUrl });
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
behavesOn('MariaDB', {
  options: {
    type: 'mariadb',
    url: `${testRun.serverUrl}${mariadbName}`,
    entities,
    migrations,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    logging: false,
  },
  setup: () => onServer(`CREATE DATABASE \`${mariadbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  cleanup: () => onServer(`DROP DATABASE IF EXISTS \`${mariadbName}\``),
});

const sqliteFile = path.join(tmpdir(), `etax-${testRun.id}-loginnames.sqlite`);
const removeSqlite = () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${sqliteFile}${suffix}`, { force: true });
  return Promise.resolve();
};
behavesOn('SQLite', {
  options: {
    type: 'better-sqlite3',
    database: sqliteFile,
    entities,
    migrations,
    prepareDatabase: (sqlite: { pragma(statement: string): unknown }) => {
      sqlite.pragma('foreign_keys = ON');
    },
    logging: false,
  },
  setup: removeSqlite,
  cleanup: removeSqlite,
});
