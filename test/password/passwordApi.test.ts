import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import request from 'supertest';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { errorHandler } from '../../src/http/errorHandler';
import { createLogger } from '../../src/logging/createLogger';
import type { PortalSessionData } from '../../src/portal/portalSession';
import { requirePortalScope } from '../../src/security/requirePortalScope';
import { createTestAccount, uniqueIdNumber, type TestAccount } from '../support/accountFixtures';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
import { OpenApiContract } from '../observability/support/openApiContract';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;

describe('password: the portal API (修改密码, 忘记密码), answers as openapi/portal.yaml documents', () => {
  const contract = new OpenApiContract();
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 2, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  const { sim } = wechat;
  let t: TestApp;
  let taxpayer: TestAccount;

  const api = () => request(t.app.callback());
  /** The API's error code and message of an answer. */
  const errorOf = (res: request.Response) => (res.body as { error: { code: string; message: string } }).error;
  const resetOf = (res: request.Response) =>
    res.body as { resetId: string; phoneMasked: string | null; expiresIn: number };
  const post = (path: string, body: unknown) =>
    api()
      .post(path)
      .set('Authorization', KEY)
      .send(body as object);
  const audit = (type: string) =>
    t.deps.db.getRepository(AuditEventEntity).find({ where: { type: type as never }, order: { id: 'ASC' } });

  before(async () => {
    t = await createTestApp({ clock, env: wechat.env() });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
    taxpayer = await createTestAccount(t.deps, { realName: '林纳税' });
  });

  async function portalSessionOf(accountId: string): Promise<string> {
    const id = randomUUID().replaceAll('-', '').padEnd(43, 'A');
    const now = clock.now();
    const data: PortalSessionData = {
      csrfToken: 'x',
      createdAt: now,
      lastSeenAt: now,
      account: { id: accountId } as never,
    };
    await t.deps.stores.portalSessions.set(id, data, 600);
    return id;
  }

  it("修改密码: 204, and the account's portal sessions end, failures clear, audited with the portal, the bound WeChat told", async () => {
    const bound = sim.createUser('已绑定');
    await t.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      openid: bound.openid,
      accountId: taxpayer.account.id,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(clock.now()),
    });
    const session = await portalSessionOf(taxpayer.account.id);
    const otherAccount = await createTestAccount(t.deps);
    const otherSession = await portalSessionOf(otherAccount.account.id);
    const path = `/api/accounts/${taxpayer.account.id}/password`;

    const wrong = await post(path, { currentPassword: 'Not-it-2026', newPassword: 'Gai-mima-2026' });
    assert.equal(wrong.status, 401);
    contract.check('changeAccountPassword', wrong);
    const weak = await post(path, { currentPassword: taxpayer.password, newPassword: 'abc' });
    assert.equal(weak.status, 422);
    assert.equal(errorOf(weak).message, '登录密码至少8位');
    contract.check('changeAccountPassword', weak);
    const same = await post(path, { currentPassword: taxpayer.password, newPassword: taxpayer.password });
    assert.equal(same.status, 422);
    const malformed = await post(path, { currentPassword: taxpayer.password });
    assert.equal(malformed.status, 400);
    contract.check('changeAccountPassword', malformed);
    const noKey = await api().post(path).send({ currentPassword: taxpayer.password, newPassword: 'Gai-mima-2026' });
    assert.equal(noKey.status, 401);
    contract.check('changeAccountPassword', noKey);
    const unknown = await post(`/api/accounts/${randomUUID()}/password`, {
      currentPassword: taxpayer.password,
      newPassword: 'Gai-mima-2026',
    });
    assert.equal(unknown.status, 401, 'an unknown account answers as a wrong password');

    const ok = await post(path, {
      currentPassword: taxpayer.password,
      newPassword: 'Gai-mima-2026',
      clientIp: '10.1.2.3',
    });
    assert.equal(ok.status, 204);
    contract.check('changeAccountPassword', ok);
    assert.equal(await t.deps.stores.portalSessions.get(session), null, "the account's portal session ended");
    assert.ok(await t.deps.stores.portalSessions.get(otherSession), "another account's stays");
    const context = { ip: '10.0.0.1', userAgent: 't' };
    assert.equal((await t.deps.accounts.authenticate(taxpayer.idNumber, taxpayer.password, context)).ok, false);
    assert.equal((await t.deps.accounts.authenticate(taxpayer.idNumber, 'Gai-mima-2026', context)).ok, true);
    const [row] = await audit('password_changed');
    assert.equal(row!.ip, '10.1.2.3');
    assert.deepEqual(row!.detail, { via: 'portal', portal: 'portal', sessionsEnded: { h5: 0, portal: 1 } });
    assert.ok(sim.outbox.some((m) => m.touser === bound.openid && JSON.stringify(m.body).includes('修改')));
    const failed = await audit('password_change_failed');
    assert.deepEqual(
      failed.map((r) => (r.detail as { reason: string }).reason),
      ['invalid_credentials', 'weak_password', 'same_password', 'invalid_credentials'],
    );
  });

  it('V6.4.1 忘记密码: the same answers for an unknown ID number and a wrong name; only a match names the masked number', async () => {
    const answers = [];
    for (const [realName, idNumber] of [
      ['李四', uniqueIdNumber()],
      ['李四', taxpayer.idNumber],
    ] as const) {
      const started = await post('/api/password-resets', { realName, idNumber });
      const reset = resetOf(started);
      assert.equal(started.status, 202);
      contract.check('startPasswordReset', started);
      const verify = await post(`/api/password-resets/${reset.resetId}/verify`, { smsCode: '123456' });
      contract.check('verifyPasswordReset', verify);
      const complete = await post(`/api/password-resets/${reset.resetId}/password`, {
        newPassword: 'Xin-mima-2026',
      });
      contract.check('completePasswordReset', complete);
      answers.push({
        start: [started.status, Object.keys(reset), reset.phoneMasked, reset.expiresIn],
        verify: [verify.status, verify.body as unknown],
        complete: [complete.status, complete.body],
      });
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.equal(answers[0]!.start[2], null);
    assert.equal(answers[0]!.verify[0], 400);
    assert.equal(answers[0]!.complete[0], 409);
    await t.deps.passwords.idle();
    assert.equal(t.deps.smsOutbox!.forPhone(taxpayer.phone).length, 0, 'nothing sent for a wrong name');

    const started = await post('/api/password-resets', {
      realName: '林纳税',
      idNumber: taxpayer.idNumber.toLowerCase(),
    });
    const reset = resetOf(started);
    assert.equal(reset.phoneMasked, `${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`);
    await t.deps.passwords.idle();
    const code = t.deps.smsOutbox!.forPhone(taxpayer.phone).at(-1)!.code;
    const verified = await post(`/api/password-resets/${reset.resetId}/verify`, { smsCode: code });
    assert.equal(verified.status, 204);
    contract.check('verifyPasswordReset', verified);
    const weak = await post(`/api/password-resets/${reset.resetId}/password`, {
      newPassword: `Ab-${taxpayer.phone}`,
    });
    assert.equal(weak.status, 422);
    assert.equal(errorOf(weak).message, '登录密码不能包含手机号码');
    contract.check('completePasswordReset', weak);
    const done = await post(`/api/password-resets/${reset.resetId}/password`, { newPassword: 'Xin-mima-2026' });
    assert.equal(done.status, 204);
    contract.check('completePasswordReset', done);
    const spent = await post(`/api/password-resets/${reset.resetId}/password`, { newPassword: 'Xin-mima-2027' });
    assert.equal(spent.status, 404);
    contract.check('completePasswordReset', spent);
    const [row] = await audit('password_reset');
    assert.equal((row!.detail as { portal: string }).portal, 'portal');
    const bad = await post('/api/password-resets', { realName: '李四', idNumber: '12345' });
    assert.equal(bad.status, 400);
    contract.check('startPasswordReset', bad);
  });

  it('V6.4.1 limits resets per identity (unknown ones too) with 429 and Retry-After', async () => {
    for (const idNumber of [taxpayer.idNumber, uniqueIdNumber()]) {
      const answers: request.Response[] = [];
      for (let i = 0; i < 6; i++)
        answers.push(await post('/api/password-resets', { realName: '王五', idNumber, clientIp: `10.9.0.${i}` }));
      assert.deepEqual(
        answers.map((res) => res.status),
        [202, 202, 202, 202, 202, 429],
      );
      const refused = answers.at(-1)!;
      assert.match(refused.headers['retry-after'] as string, /^[1-9]\d*$/);
      contract.check('startPasswordReset', refused);
    }
  });

  it('refuses a key without the password scope (403 insufficient_scope), lets one with it and a scope-less key through', async () => {
    const app = new Koa();
    app.use(errorHandler(createLogger('silent')));
    app.use(async (ctx, next) => {
      const scopes = ctx.get('x-scopes');
      (ctx.state as Record<string, unknown>).portalKey =
        scopes === 'none' ? { name: 'old' } : { name: 'k', scopes: new Set(scopes.split(',')) };
      await next();
    });
    app.use(requirePortalScope('password'));
    app.use((ctx) => {
      ctx.status = 204;
    });
    const refused = await request(app.callback()).post('/').set('x-scopes', 'login,bindings');
    assert.equal(refused.status, 403);
    assert.equal(errorOf(refused).code, 'insufficient_scope');
    assert.equal((await request(app.callback()).post('/').set('x-scopes', 'login,password')).status, 204);
    assert.equal((await request(app.callback()).post('/').set('x-scopes', 'none')).status, 204);
  });
});
