import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { DEMO_ACCOUNT, seedDemoAccount } from '../../src/sandbox/demo/seedDemoAccount';
import { visibleText } from '../support/H5Client';
import { testRun } from '../support/testEnv';
import { API_KEY, World } from './support/world';

/**
 * The forms a number could take in a dump: its characters with any separators between them
 * (spaces, hyphens, dots, slashes, underscores), the ID's X in either case, and its UTF-8 bytes
 * as hex or base64.
 */
function formsOf(value: string): [string, RegExp][] {
  const spaced = [...value].map((c) => (c === 'X' ? '[Xx]' : c)).join('[\\s\\-./_·]*');
  const bytes = Buffer.from(value, 'utf8');
  return [
    ['digits, with or without separators', new RegExp(spaced)],
    ['hex', new RegExp(bytes.toString('hex'), 'i')],
    ['base64', new RegExp(bytes.toString('base64').replace(/=+$/, '').replace(/[+/]/g, '\\$&'))],
  ];
}

function findings(dump: string, numbers: Record<string, string>): string[] {
  return Object.entries(numbers).flatMap(([what, value]) =>
    formsOf(value)
      .filter(([, form]) => form.test(dump))
      .map(([how]) => `${what} as ${how}`),
  );
}

/** Every row of every table, each value written out (binary both as hex and as text). */
async function dumpTables(db: DataSource, tables: string[]): Promise<string> {
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await db.query<Record<string, unknown>[]>(`SELECT * FROM ${db.driver.escape(table)}`);
    for (const row of rows)
      for (const [column, value] of Object.entries(row)) {
        const text = Buffer.isBuffer(value)
          ? `${value.toString('hex')} ${value.toString('latin1')}`
          : value instanceof Date
            ? value.toISOString()
            : String(value);
        parts.push(`${table}.${column}=${text}`);
      }
  }
  return parts.join('\n');
}

/**
 * 实名注册, 实名绑定, logins by ID number and by phone (H5 and portal API), refusals, 微信解绑 on
 * one World; answers the numbers used, which must then appear nowhere at rest.
 */
async function walkEveryFlow(w: World): Promise<Record<string, string>> {
  const taxpayer = await w.account();
  const a = w.newUser('纳税人甲');
  // 实名绑定, logging in by phone; the ID-number login is the portal's below.
  const login = await w.bindLogin(a, taxpayer.phone, taxpayer.password);
  assert.equal(login.status, 302, visibleText(login.text));
  assert.equal((await w.requestBindSms(a, taxpayer.phone)).status, 302);
  const page = await a.open('/h5/bind');
  const bound = await a.post('/h5/bind/confirm', {
    _csrf: a.csrfToken(page.text),
    phone: taxpayer.phone,
    smsCode: w.smsCodeFor(taxpayer.phone)!,
  });
  assert.equal(bound.headers.location, '/h5/bind/done', visibleText(bound.text));

  const b = w.newUser('纳税人乙');
  const form = w.newForm({ realName: '欧阳小税' });
  assert.equal((await w.registerFully(b, form)).headers.location, '/h5/register/done');
  // A refused registration of the same ID number writes its audit row too.
  const c = w.newUser('纳税人丙');
  assert.equal((await w.registerFully(c, w.newForm({ idNumber: form.idNumber }))).status, 409);

  const authenticate = (loginName: string, password: string) =>
    w.api().post('/api/accounts/authenticate').set('Authorization', API_KEY).send({ loginName, password });
  const logins: [string, string][] = [
    [taxpayer.idNumber, taxpayer.password],
    [taxpayer.idNumber.toLowerCase(), taxpayer.password],
    [taxpayer.phone, taxpayer.password],
    [form.idNumber, form.password],
    [form.phone, form.password],
  ];
  for (const [loginName, password] of logins)
    assert.equal((await authenticate(loginName, password)).status, 200, loginName);
  assert.equal((await authenticate(taxpayer.idNumber, 'Wrong-password-1')).status, 401);
  assert.equal((await authenticate(` ${form.phone} `, 'Wrong-password-1')).status, 401);

  const list = await w.api().get(`/api/accounts/${taxpayer.account.id}/wechat-bindings`).set('Authorization', API_KEY);
  const unbound = await w
    .api()
    .delete(
      `/api/accounts/${taxpayer.account.id}/wechat-bindings/${(list.body as { bindings: { id: string }[] }).bindings[0]!.id}`,
    )
    .set('Authorization', API_KEY);
  assert.equal(unbound.status, 204);

  assert.equal(await seedDemoAccount(w.t.deps.accounts), 'created');
  return {
    "the bound taxpayer's ID number": taxpayer.idNumber,
    "the bound taxpayer's phone": taxpayer.phone,
    "the registrant's ID number": form.idNumber,
    "the registrant's phone": form.phone,
    "the demo seed's ID number": DEMO_ACCOUNT.idNumber,
    "the demo seed's phone": DEMO_ACCOUNT.phone,
  };
}

describe('security: ID and mobile numbers at rest (ASVS V14.2.4)', () => {
  describe('on MariaDB', () => {
    const w = new World();
    before(async () => {
      await w.start();
      await w.reset();
    });
    after(() => w.stop());

    it('V14.2.4: after register, bind, logins by ID number and phone, refusals and unbind, no table holds either number in any form', async () => {
      const numbers = await walkEveryFlow(w);
      const db = w.t.deps.db;
      const tables = (
        await db.query<{ t: string }[]>(
          'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
          [testRun.databaseName],
        )
      ).map((r) => r.t);
      assert.ok(tables.includes('accounts') && tables.includes('audit_events') && tables.includes('wechat_bindings'));
      const dump = await dumpTables(db, tables);
      assert.ok(dump.includes('accounts.id_number=v1:'), 'the dump holds the encrypted accounts');
      assert.deepEqual(findings(dump, numbers), []);
    });
  });

  describe('on the embedded SQLite store', () => {
    const file = path.join(tmpdir(), `etax-${testRun.id}-atrest.sqlite`);
    const w = new World({ env: { DATABASE_URL: `sqlite:${file}` } });
    before(async () => {
      await w.start();
      await w.reset();
    });
    after(async () => {
      await w.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    });

    it('V14.2.4: the same flows leave neither number in any table, nor anywhere in the database files', async () => {
      const numbers = await walkEveryFlow(w);
      const db = w.t.deps.db;
      const tables = (
        await db.query<
          {
            name: string;
          }[]
        >("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      ).map((r) => r.name);
      assert.ok(tables.includes('accounts'));
      assert.deepEqual(findings(await dumpTables(db, tables), numbers), []);
      // The files themselves, write-ahead log included: indexes and free pages too.
      const bytes = ['', '-wal']
        .map((suffix) => `${file}${suffix}`)
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f).toString('latin1'))
        .join('\n');
      assert.ok(bytes.length > 0);
      assert.deepEqual(findings(bytes, numbers), []);
    });
  });
});
