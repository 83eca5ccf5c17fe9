import assert from 'node:assert/strict';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import type { TestAccount } from '../support/accountFixtures';
import { createTestAccount } from '../support/accountFixtures';
import { type H5Client, visibleText } from '../support/H5Client';
import { APOLOGY, assertFriendlyPage, assertServiceUnavailable } from './support/assertions';
import { FaultRig, PORTAL_KEY } from './support/faultRig';
import { timed, waitUntil } from './support/processes';

describe('reliability: Redis stopped mid-flow and restarted (a private redis-server)', function () {
  this.timeout(60_000);
  let rig: FaultRig;

  beforeEach(async () => {
    rig = await FaultRig.start();
  });
  afterEach(async () => {
    await rig?.dispose();
  });

  it('answers 503 JSON, a friendly page and an apology within 5 s while Redis is down, then recovers without a restart', async () => {
    const { openid } = await rig.boundTaxpayer();
    const phone = rig.phone(openid);
    assert.equal((await phone.open('/h5/bind')).status, 200, 'the phone has a session before the outage');
    const before = await rig.createTicket();
    assert.equal(rig.sim.tokenFetches(), 1);

    await rig.redis.stop();

    // The portal API: a clear 503, at once.
    for (const call of [
      () => rig.api().post('/api/login/tickets').set('Authorization', PORTAL_KEY).send({}),
      () => rig.poll(before.ticketId),
      () => rig.poll(before.ticketId, '?wait=1'),
      () => rig.redeem(before.ticketId),
    ]) {
      const { value: res, ms } = await timed(call);
      assertServiceUnavailable(res);
      assert.ok(ms < 5000, `answered after ${ms} ms`);
    }
    const ready = await rig.api().get('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.checks, { mysql: 'ok', redis: 'down' });
    assert.equal((await rig.api().get('/healthz')).status, 200);

    // H5: a page the taxpayer can act on, with and without a session cookie.
    assertFriendlyPage(await phone.open('/h5/bind'));
    assertFriendlyPage(await rig.phone(rig.sim.createUser('新用户').openid).open('/h5/register'));

    // WeChat: a short apology, well within its 5 s.
    for (const xml of [
      (d: typeof rig.driver) => d.event(openid, 'SCAN', rig.sceneOf(before), { Ticket: 'T' }),
      (d: typeof rig.driver) => d.textMessage(openid, '绑定'),
    ]) {
      const { value: res, ms } = await timed(() => rig.push(xml));
      assert.equal(res.status, 200);
      assert.equal(await rig.replyText(res), APOLOGY);
      assert.ok(ms < 5000, `WeChat waited ${ms} ms`);
    }

    // Back, empty (--save ''): the service finds it again by itself.
    await rig.redis.restart();
    await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);

    // What lived only in Redis is gone and said to be gone, never half there.
    const lost = await rig.poll(before.ticketId);
    assert.equal(lost.status, 404);
    assert.equal(lost.body.error.code, 'ticket_not_found');

    // A whole login works again on the same process: token fetched anew, the long-poll woken through
    // the pub/sub subscription node-redis renewed, the confirm page on a new session.
    const ticket = await rig.createTicket();
    assert.equal(rig.sim.tokenFetches(), 2, 'the shared token is fetched again (it was lost with Redis)');
    const held = rig.poll(ticket.ticketId, '?wait=20&status=pending').then((r) => r);
    await waitUntil('the long-poll to be held', () => rig.t.deps.ticketChanges.waiting === 1);
    const link = await rig.scan(openid, ticket);
    const { value: woken, ms } = await timed(() => held);
    assert.equal(woken.status, 200);
    assert.equal(woken.body.status, 'scanned');
    assert.ok(ms < 5000, `the poll woke after ${ms} ms`);
    const page = await phone.open(link.path);
    assert.equal(page.status, 200, visibleText(page.text));
    const confirmed = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link.token });
    assert.match(visibleText(confirmed.text), /登录成功/);
    const redeemed = await rig.redeem(ticket.ticketId);
    assert.equal(redeemed.status, 200, redeemed.text);
    assert.equal(redeemed.body.openid, openid);
  });

  it('reports itself not ready within 2 s while Redis hangs (SIGSTOP: connection open, no answers), and ready once it answers again', async () => {
    assert.equal(await rig.ready(), true);
    rig.redis.pause();
    try {
      const { value: ready, ms } = await timed(() => rig.api().get('/readyz'));
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.checks, { mysql: 'ok', redis: 'down' });
      assert.ok(ms < 2000, `answered after ${ms} ms`);
      assert.equal((await rig.api().get('/healthz')).status, 200, 'the process itself is alive');
    } finally {
      rig.redis.resume();
    }
    await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);
  });

  it('answers a long-poll held when Redis goes away with 503 at the end of its wait, not never', async () => {
    await rig.boundTaxpayer();
    const ticket = await rig.createTicket();
    const held = timed(() => rig.poll(ticket.ticketId, '?wait=2&status=pending'));
    await waitUntil('the long-poll to be held', () => rig.t.deps.ticketChanges.waiting === 1);
    await rig.redis.stop('SIGKILL');
    const { value: res, ms } = await held;
    assertServiceUnavailable(res);
    assert.ok(ms < 4000, `answered after ${ms} ms`);
  });

  describe('实名绑定 with Redis stopped before 确定绑定', () => {
    const bindings = () => rig.t.deps.db.getRepository(WechatBindingEntity);
    const audits = (type: 'bind' | 'bind_failed') => rig.t.deps.db.getRepository(AuditEventEntity).countBy({ type });
    const smsCodeFor = (phone: string) => rig.t.deps.smsOutbox!.forPhone(phone).at(-1)?.code;

    async function stepsBeforeConfirm(user: H5Client, taxpayer: TestAccount): Promise<string> {
      const page = await user.open('/h5/bind');
      const captcha = await user.captcha('bind-login');
      const login = await user.post('/h5/bind/login', {
        _csrf: user.csrfToken(page.text),
        loginName: taxpayer.idNumber,
        password: taxpayer.password,
        captcha,
      });
      assert.equal(login.status, 302, visibleText(login.text));
      assert.equal((await user.submit('/h5/bind', '/h5/bind/sms', { phone: taxpayer.phone, smsCode: '' })).status, 302);
      const captchaPage = await user.open('/h5/bind/sms');
      const smsCaptcha = await user.captcha('bind-sms');
      const sent = await user.post('/h5/bind/sms/send', {
        _csrf: user.csrfToken(captchaPage.text),
        captcha: smsCaptcha,
      });
      assert.equal(sent.status, 302, visibleText(sent.text));
      return (await user.open('/h5/bind?sent=1')).text;
    }

    it('shows the friendly page, writes no binding, and binds after the restart', async () => {
      const taxpayer = await createTestAccount(rig.t.deps);
      const user = rig.phone(rig.sim.createUser('纳税人').openid);
      const form = await stepsBeforeConfirm(user, taxpayer);

      await rig.redis.stop();
      const refused = await user.post('/h5/bind/confirm', {
        _csrf: user.csrfToken(form),
        phone: taxpayer.phone,
        smsCode: smsCodeFor(taxpayer.phone)!,
      });
      assertFriendlyPage(refused);
      assert.equal(await bindings().count(), 0, 'no binding');
      assert.equal(await audits('bind'), 0, 'no bind event');

      await rig.redis.restart();
      await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);
      // The session went with Redis: the taxpayer starts again (through OAuth) and gets there.
      const again = await stepsBeforeConfirm(user, taxpayer);
      const bound = await user.post('/h5/bind/confirm', {
        _csrf: user.csrfToken(again),
        phone: taxpayer.phone,
        smsCode: smsCodeFor(taxpayer.phone)!,
      });
      assert.equal(bound.status, 302, visibleText(bound.text));
      assert.equal(bound.headers.location, '/h5/bind/done');
      assert.equal(await bindings().countBy({ openid: user.openid, accountId: taxpayer.account.id }), 1);
      assert.equal(await audits('bind'), 1);
    });
  });
});
