import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;

describe('binding: 微信解绑 API (/api/accounts/:accountId/wechat-bindings)', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 3, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  const { sim } = wechat;
  let t: TestApp;
  let owner: TestAccount;
  let other: TestAccount;
  let openid: string;
  let bindingId: string;

  const api = () => request(t.app.callback());
  const bindingsRepo = () => t.deps.db.getRepository(WechatBindingEntity);

  before(async () => {
    t = await createTestApp({ clock, env: wechat.env() });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
    owner = await createTestAccount(t.deps);
    other = await createTestAccount(t.deps);
    openid = sim.createUser('税友').openid;
    bindingId = randomUUID();
    await bindingsRepo().insert({
      id: bindingId,
      accountId: owner.account.id,
      openid,
      unionid: null,
      nickname: '税友',
      subscribed: true,
      boundAt: new Date(clock.now()),
    });
  });

  it("lists the account's bindings with the openid masked", async () => {
    const res = await api().get(`/api/accounts/${owner.account.id}/wechat-bindings`).set('Authorization', KEY);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      bindings: [
        {
          id: bindingId,
          nickname: '税友',
          openidMasked: `${openid.slice(0, 6)}****${openid.slice(-4)}`,
          subscribed: true,
          boundAt: new Date(clock.now()).toISOString(),
        },
      ],
    });
    assert.ok(!res.text.includes(openid));
    const empty = await api().get(`/api/accounts/${other.account.id}/wechat-bindings`).set('Authorization', KEY);
    assert.deepEqual(empty.body, { bindings: [] });
  });

  it('unbinds with 204, audits it, tells the WeChat, and the next scan by it needs binding', async () => {
    const res = await api()
      .delete(`/api/accounts/${owner.account.id}/wechat-bindings/${bindingId}`)
      .set('Authorization', KEY);
    assert.equal(res.status, 204);
    assert.equal(await bindingsRepo().countBy({ openid }), 0);
    const audit = await t.deps.db.getRepository(AuditEventEntity).findBy({ type: 'unbind' });
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.openid, openid);
    await waitFor(() => sim.outbox.some((m) => m.touser === openid && JSON.stringify(m.body).includes('解除绑定')));

    const ticket = (await api().post('/api/login/tickets').set('Authorization', KEY).send({})).body as {
      ticketId: string;
      qrContent: string;
    };
    const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
    const push = driver.sign(driver.event(openid, 'SCAN', sim.qrByUrl(ticket.qrContent)!.sceneStr));
    const reply = await driver.readReply(
      (await api().post('/wechat').query(push.query).type('text/xml').send(push.body)).text,
    );
    assert.match(reply!.Content!, /尚未绑定/);
    assert.equal((await api().get(`/api/login/tickets/${ticket.ticketId}`)).body.status, 'needs_binding');
  });

  it("answers 404 for a binding that is not that account's, and keeps it", async () => {
    const res = await api()
      .delete(`/api/accounts/${other.account.id}/wechat-bindings/${bindingId}`)
      .set('Authorization', KEY);
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'binding_not_found');
    assert.equal(await bindingsRepo().countBy({ id: bindingId }), 1);
  });

  it('answers 404 for an unknown binding or account, and for malformed ids', async () => {
    for (const path of [
      `/api/accounts/${owner.account.id}/wechat-bindings/${randomUUID()}`,
      `/api/accounts/${randomUUID()}/wechat-bindings/${bindingId}`,
      `/api/accounts/${owner.account.id}/wechat-bindings/not-a-uuid`,
      '/api/accounts/x/wechat-bindings/y',
    ]) {
      const res = await api().delete(path).set('Authorization', KEY);
      assert.equal(res.status, 404, path);
    }
    assert.equal(
      (await api().get(`/api/accounts/${randomUUID()}/wechat-bindings`).set('Authorization', KEY)).status,
      404,
    );
    assert.equal(await bindingsRepo().count(), 1);
  });

  it('requires the portal API key for both calls', async () => {
    for (const call of [
      () => api().get(`/api/accounts/${owner.account.id}/wechat-bindings`),
      () => api().delete(`/api/accounts/${owner.account.id}/wechat-bindings/${bindingId}`),
      () =>
        api()
          .delete(`/api/accounts/${owner.account.id}/wechat-bindings/${bindingId}`)
          .set('Authorization', 'Bearer wrong-key'),
    ]) {
      const res = await call();
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_api_key');
    }
    assert.equal(await bindingsRepo().count(), 1);
  });

  it('still unbinds when WeChat refuses the notice', async () => {
    sim.failNext('/cgi-bin/message/custom/send', { errcode: 45015, errmsg: 'response out of time limit' });
    const res = await api()
      .delete(`/api/accounts/${owner.account.id}/wechat-bindings/${bindingId}`)
      .set('Authorization', KEY);
    assert.equal(res.status, 204);
    assert.equal(await bindingsRepo().count(), 0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
