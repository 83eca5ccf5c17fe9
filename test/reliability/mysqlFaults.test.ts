import assert from 'node:assert/strict';
import { AccountEntity } from '../../src/accounts/Account';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { createTestAccount, uniqueIdNumber, uniquePhone, type TestAccount } from '../support/accountFixtures';
import { visibleText, type H5Client } from '../support/H5Client';
import { APOLOGY, assertFriendlyPage, assertServiceUnavailable } from './support/assertions';
import { FaultRig, PORTAL_KEY } from './support/faultRig';
import { MysqlAdmin } from './support/MysqlAdmin';
import { timed, waitUntil } from './support/processes';

const PASSWORD = 'Fj-tax-2025!';

describe("reliability: MySQL unreachable or its connection killed (a relay and a KILL CONNECTION of the test's own)", function () {
  this.timeout(60_000);
  let rig: FaultRig;
  let admin: MysqlAdmin;

  beforeEach(async () => {
    rig = await FaultRig.start();
    admin = await MysqlAdmin.connect();
  });
  afterEach(async () => {
    await admin?.connection.query('ROLLBACK').catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await rig?.dispose();
  });

  const accounts = () => rig.t.deps.db.getRepository(AccountEntity);
  const bindings = () => rig.t.deps.db.getRepository(WechatBindingEntity);
  const audits = (type: 'register' | 'bind' | 'login_scanned') =>
    rig.t.deps.db.getRepository(AuditEventEntity).countBy({ type });
  const smsCodeFor = (phone: string) => rig.t.deps.smsOutbox!.forPhone(phone).at(-1)?.code;
  const authenticate = (taxpayer: TestAccount) =>
    rig
      .api()
      .post('/api/accounts/authenticate')
      .set('Authorization', PORTAL_KEY)
      .send({ loginName: taxpayer.idNumber, password: taxpayer.password });

  it('answers 503 JSON, a friendly page and an apology within 5 s while MySQL is unreachable, then recovers without a restart', async () => {
    const { taxpayer, openid } = await rig.boundTaxpayer();
    const phone = rig.phone(openid);
    assert.equal((await phone.open('/h5/bind')).status, 200);
    const ticket = await rig.createTicket();

    await rig.mysql.cut();

    for (const call of [
      () => authenticate(taxpayer),
      () => rig.api().get(`/api/accounts/${taxpayer.account.id}/wechat-bindings`).set('Authorization', PORTAL_KEY),
    ]) {
      const { value: res, ms } = await timed(call);
      assertServiceUnavailable(res);
      assert.ok(ms < 5000, `answered after ${ms} ms`);
    }
    const ready = await rig.api().get('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.checks, { mysql: 'down', redis: 'ok' });

    assertFriendlyPage(await phone.open('/h5/bind'));

    const { value: scan, ms } = await timed(() =>
      rig.push((d) => d.event(openid, 'SCAN', rig.sceneOf(ticket), { Ticket: 'T' })),
    );
    assert.equal(await rig.replyText(scan), APOLOGY);
    assert.ok(ms < 5000, `WeChat waited ${ms} ms`);
    assert.equal((await rig.poll(ticket.ticketId)).body.status, 'pending', 'the failed scan changed nothing');

    await rig.mysql.restore();
    await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);
    assert.equal((await authenticate(taxpayer)).status, 200);
    assert.equal((await phone.open('/h5/bind')).status, 200);
    // WeChat re-sends nothing after an apology: the taxpayer scans again, and it works.
    await rig.scan(openid, ticket);
    assert.equal((await rig.poll(ticket.ticketId)).body.status, 'scanned');
    assert.equal(await audits('login_scanned'), 1);
  });

  it('replaces idle pool connections the server killed without failing a request', async () => {
    const { taxpayer } = await rig.boundTaxpayer();
    await Promise.all([authenticate(taxpayer), authenticate(taxpayer), authenticate(taxpayer)]);
    const killed = await admin.killFromPorts(rig.mysql.upstreamPorts());
    assert.ok(killed > 0, 'the app had connections to kill');
    await waitUntil(
      'the killed connections to close',
      () => rig.mysql.connections === 0 || rig.mysql.upstreamPorts().length < killed,
    );
    const answers = await Promise.all([authenticate(taxpayer), authenticate(taxpayer), authenticate(taxpayer)]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
      answers.map((a) => a.text).join('\n'),
    );
  });

  describe('a connection killed inside a transaction', () => {
    async function registerForm(user: H5Client, form: { realName: string; idNumber: string; phone: string }) {
      const page = await user.open('/h5/register');
      const captcha = await user.captcha('register');
      const sent = await user.post('/h5/register/sms', {
        _csrf: user.csrfToken(page.text),
        ...form,
        captcha,
        smsCode: '',
        password: PASSWORD,
        confirmPassword: PASSWORD,
      });
      assert.equal(sent.status, 200, visibleText(sent.text));
      return () =>
        user.post('/h5/register', {
          _csrf: user.csrfToken(sent.text),
          ...form,
          captcha: '',
          smsCode: smsCodeFor(form.phone)!,
          password: PASSWORD,
          confirmPassword: PASSWORD,
        });
    }

    it('实名注册: rolls back the account, its event and its binding together; the retry registers', async () => {
      const other = await createTestAccount(rig.t.deps);
      const user = rig.phone(rig.sim.createUser('新纳税人').openid);
      const form = { realName: '林小税', idNumber: uniqueIdNumber(), phone: uniquePhone() };
      const submit = await registerForm(user, form);

      // Another transaction holds this openid's unique-index entry, uncommitted: the registration's
      // binding INSERT — after its account and 'register' event — waits there, and is killed there.
      await admin.connection.query('BEGIN');
      await admin.connection.query(
        'INSERT INTO wechat_bindings (id, account_id, openid, subscribed, bound_at) VALUES (UUID(), ?, ?, 1, NOW(3))',
        [other.account.id, user.openid],
      );
      const pending = submit().then((r) => r);
      const victim = await admin.waitForStatement(/^INSERT INTO `wechat_bindings`/);
      await admin.kill(victim);
      const refused = await pending;
      await admin.connection.query('ROLLBACK');

      assertFriendlyPage(refused);
      assert.equal(await accounts().count(), 1, 'only the other account exists');
      assert.equal(await bindings().count(), 0, 'no binding');
      assert.equal(await audits('register'), 0, 'no register event');

      // The SMS code was spent; after the resend interval the taxpayer gets another and registers.
      rig.clock.advance(61_000);
      const retry = await registerForm(user, form);
      const done = await retry();
      assert.equal(done.status, 302, visibleText(done.text));
      assert.equal(done.headers.location, '/h5/register/done');
      const account = await accounts().findOneByOrFail({
        idNumberIndex: rig.t.deps.protector.index('id_number', form.idNumber),
      });
      assert.equal(await bindings().countBy({ accountId: account.id, openid: user.openid }), 1);
      assert.equal(await audits('register'), 1);
    });

    it('实名绑定: a bind killed while it waits for the account lock writes no binding; the retry binds', async () => {
      const taxpayer = await createTestAccount(rig.t.deps);
      const user = rig.phone(rig.sim.createUser('纳税人').openid);
      const confirmForm = async () => {
        const page = await user.open('/h5/bind');
        const captcha = await user.captcha('bind-login');
        if (!/name="smsCode"/.test(page.text)) {
          const login = await user.post('/h5/bind/login', {
            _csrf: user.csrfToken(page.text),
            loginName: taxpayer.idNumber,
            password: taxpayer.password,
            captcha,
          });
          assert.equal(login.status, 302, visibleText(login.text));
        }
        assert.equal(
          (await user.submit('/h5/bind', '/h5/bind/sms', { phone: taxpayer.phone, smsCode: '' })).status,
          302,
        );
        const captchaPage = await user.open('/h5/bind/sms');
        const sent = await user.post('/h5/bind/sms/send', {
          _csrf: user.csrfToken(captchaPage.text),
          captcha: await user.captcha('bind-sms'),
        });
        assert.equal(sent.status, 302, visibleText(sent.text));
        const form = await user.open('/h5/bind?sent=1');
        return () =>
          user.post('/h5/bind/confirm', {
            _csrf: user.csrfToken(form.text),
            phone: taxpayer.phone,
            smsCode: smsCodeFor(taxpayer.phone)!,
          });
      };
      const confirm = await confirmForm();

      await admin.connection.query('BEGIN');
      await admin.connection.query('SELECT id FROM accounts WHERE id = ? FOR UPDATE', [taxpayer.account.id]);
      const pending = confirm().then((r) => r);
      await admin.kill(await admin.waitForStatement(/FROM `accounts`.*FOR UPDATE/));
      const refused = await pending;
      await admin.connection.query('ROLLBACK');

      assertFriendlyPage(refused);
      assert.equal(await bindings().count(), 0, 'no binding');
      assert.equal(await audits('bind'), 0, 'no bind event');

      rig.clock.advance(61_000);
      const retry = await confirmForm();
      const bound = await retry();
      assert.equal(bound.status, 302, visibleText(bound.text));
      assert.equal(bound.headers.location, '/h5/bind/done');
      assert.equal(await bindings().countBy({ accountId: taxpayer.account.id, openid: user.openid }), 1);
      assert.equal(await audits('bind'), 1);
    });
  });

  it('answers WeChat `success` within 5 s when handling waits on a MySQL lock, and finishes the handling in the background', async () => {
    const { openid } = await rig.boundTaxpayer();
    await admin.connection.query('BEGIN');
    await admin.connection.query('SELECT id FROM wechat_bindings WHERE openid = ? FOR UPDATE', [openid]);

    rig.clock.advance(1000);
    const xml = rig.driver.event(openid, 'unsubscribe');
    const deliver = () => {
      const signed = rig.driver.sign(xml);
      return rig.api().post('/wechat').query(signed.query).type('text/xml').send(signed.body);
    };
    const { value: first, ms } = await timed(deliver);
    assert.equal(first.status, 200);
    assert.equal(first.text, 'success');
    assert.ok(ms < 5000, `WeChat waited ${ms} ms`);

    await admin.connection.query('COMMIT');
    await waitUntil(
      'the unsubscribe to be stored',
      async () => (await bindings().findOneByOrFail({ openid })).subscribed === false,
    );
    // WeChat's retry of the same push changes nothing more and is answered from the first delivery.
    const retried = await deliver();
    assert.equal(retried.text, 'success');
  });
});
