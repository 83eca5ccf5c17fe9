import assert from 'node:assert/strict';
import { serializeError } from '../../src/logging/errorSerializer';
import { LogCapture } from './support/logCapture';
import { API_KEY, World } from './support/world';

describe('V16.2.5 a database error during a login logs no personal data, SQL or bound values', () => {
  const log = new LogCapture('debug');
  const w = new World({ logger: log.logger });
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  /** Makes every account lookup fail for real (ER_NO_SUCH_TABLE) while `act` runs. */
  async function withAccountsTableGone(act: () => Promise<void>): Promise<void> {
    await w.t.deps.db.query('RENAME TABLE `accounts` TO `accounts_away`');
    try {
      await act();
    } finally {
      await w.t.deps.db.query('RENAME TABLE `accounts_away` TO `accounts`');
    }
  }

  it('through the portal API and the 实名绑定 form: no ID number, phone or password on any line', async () => {
    const account = await w.quickAccount();
    const typedInTheWrongField = 'Wrong-Field-Pa55word!';
    const client = w.newUser();
    await client.open('/h5/bind');
    log.clear();
    await withAccountsTableGone(async () => {
      for (const loginName of [account.idNumber, account.phone, typedInTheWrongField]) {
        const api = await w
          .api()
          .post('/api/accounts/authenticate')
          .set('Authorization', API_KEY)
          .send({ loginName, password: account.password });
        assert.ok(api.status >= 500, `the lookup failed: ${api.status}`);
        const page = await w.bindLogin(client, loginName, account.password);
        assert.ok(page.status >= 500, `the lookup failed: ${page.status}`);
      }
    });
    const errorLines = log.lines.filter((line) => line.err !== undefined);
    assert.ok(errorLines.length >= 6, `the failures were logged with their error:\n${log.text}`);
    assert.ok(
      errorLines.some((line) => /accounts/.test(JSON.stringify(line.err))),
      'the error still says what failed',
    );
    for (const secret of [account.idNumber, account.phone, account.password, typedInTheWrongField]) {
      assert.ok(!log.text.includes(secret), `${secret} is in the logs:\n${log.text}`);
    }
    assert.doesNotMatch(log.text, /SELECT|"parameters"|"query"|"sql"/);
  });

  it('masks ID and phone numbers in any error message, keeps the driver code, drops statement fields', () => {
    const error = Object.assign(new Error("Duplicate entry 'a@b' for 350102199003071234 and 13800138000"), {
      query: 'SELECT 1',
      parameters: ['350102199003071234'],
      driverError: { code: 'ER_DUP_ENTRY', errno: 1062, sql: 'INSERT …', sqlMessage: 'x' },
    });
    const text = JSON.stringify(serializeError(error));
    assert.doesNotMatch(text, /350102199003071234|13800138000|a@b|SELECT|INSERT/);
    assert.match(text, /350\*{11}1234/);
    assert.match(text, /138\*{4}8000/);
    assert.match(text, /ER_DUP_ENTRY/);
  });
});
