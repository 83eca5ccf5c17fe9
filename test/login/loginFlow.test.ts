import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;

interface Created {
  ticketId: string;
  qrcodeUrl: string;
  qrContent: string;
  expiresAt: string;
  expiresIn: number;
}

describe('login: 微信扫码登录', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  const { sim } = wechat;
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  let t: TestApp;
  let taxpayer: TestAccount;
  let openid: string;

  const api = () => request(t.app.callback());

  before(async () => {
    t = await createTestApp({ clock, env: wechat.env() });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
    taxpayer = await createTestAccount(t.deps, { realName: '王纳税' });
    openid = sim.createUser('王纳税').openid;
  });

  async function createTicket(
    body: Record<string, string> = {
      clientIp: '203.0.113.7',
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    },
  ): Promise<Created> {
    const res = await api().post('/api/login/tickets').set('Authorization', KEY).send(body);
    assert.equal(res.status, 201, res.text);
    return res.body as Created;
  }
  const sceneOf = (ticket: Created) => sim.qrByUrl(ticket.qrContent)!.sceneStr!;
  async function bind(who: string, account: TestAccount = taxpayer) {
    await t.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      accountId: account.account.id,
      openid: who,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(clock.now()),
    });
  }
  async function scan(who: string, scene: string, viaSubscribe = false): Promise<string> {
    clock.advance(1000); // one push per second per user keeps retries and new scans apart
    const xml = viaSubscribe
      ? driver.event(who, 'subscribe', `qrscene_${scene}`, { Ticket: 'T' })
      : driver.event(who, 'SCAN', scene, { Ticket: 'T' });
    const push = driver.sign(xml);
    const res = await api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(res.status, 200);
    return (await driver.readReply(res.text))?.Content ?? '';
  }
  const poll = async (ticketId: string, query = '') => api().get(`/api/login/tickets/${ticketId}${query}`);
  const confirmLink = (reply: string) => /href="[^"]*(\/h5\/login\/confirm\?c=([0-9a-f]{48}))"/.exec(reply);
  const auditTypes = async () =>
    (await t.deps.db.getRepository(AuditEventEntity).find({ order: { id: 'ASC' } })).map((e) => e.type);

  describe('POST /api/login/tickets', () => {
    it('creates a long-lived temporary QR_STR_SCENE code for a ticket that expires on its own', async () => {
      const ticket = await createTicket();
      assert.match(ticket.ticketId, /^[0-9a-f]{48}$/);
      assert.equal(ticket.expiresIn, 300);
      assert.equal(ticket.expiresAt, new Date(clock.now() + 300_000).toISOString());
      const qr = sim.qrByUrl(ticket.qrContent)!;
      assert.equal(qr.permanent, false);
      assert.equal(qr.expiresAt, clock.now() + 7 * 86_400_000, 'LOGIN_QR_LIFETIME_SECONDS: 7 days by default');
      assert.match(qr.sceneStr!, /^login_[0-9a-f]{24}$/);
      assert.ok(qr.sceneStr!.length <= 64);
      assert.equal(ticket.qrcodeUrl, `${wechat.url}/cgi-bin/showqrcode?ticket=${encodeURIComponent(qr.ticket)}`);
      const image = await fetch(ticket.qrcodeUrl);
      assert.equal(image.status, 200);
      assert.equal(image.headers.get('content-type'), 'image/png');
    });

    it('gives each ticket three distinct identifiers with at least 128 random bits each', async () => {
      const tickets = await Promise.all([createTicket(), createTicket()]);
      const ids = (
        await Promise.all(
          tickets.map(async ({ ticketId }) => {
            const stored = (await t.deps.stores.loginTickets.byTicketId(ticketId))!;
            return [stored.ticketId, stored.sceneStr.slice('login_'.length), stored.confirmToken];
          }),
        )
      ).flat();
      assert.equal(new Set(ids).size, 6);
      const random = (id: string) => id.slice(16); // after the shared 64-bit slot tag
      assert.equal(new Set(ids.map(random)).size, 6);
      for (const id of ids) assert.equal(random(id).length * 4, 128);
    });

    it('requires the portal API key', async () => {
      assert.equal((await api().post('/api/login/tickets').send({})).status, 401);
      const wrong = await api().post('/api/login/tickets').set('Authorization', 'Bearer nope').send({});
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'invalid_api_key');
    });

    it('refuses a malformed body with 400 and an error code', async () => {
      const res = await api()
        .post('/api/login/tickets')
        .set('Authorization', KEY)
        .send({ clientIp: 'not an ip <script>', extra: 1 });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_request');
    });

    it('answers 503 wechat_unavailable when WeChat refuses to make the QR code and none is idle', async () => {
      sim.failNext('/cgi-bin/qrcode/create', { errcode: 45011, errmsg: 'api minute-quota reach limit' });
      const res = await api().post('/api/login/tickets').set('Authorization', KEY).send({});
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'wechat_unavailable');
    });

    it("answers 503 wechat_qrcode_quota when the day's QR codes are used up (45009) and none is idle", async () => {
      sim.failNext('/cgi-bin/qrcode/create', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
      const res = await api().post('/api/login/tickets').set('Authorization', KEY).send({});
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'wechat_qrcode_quota');
    });
  });

  it('walks the whole flow: ticket → scan → 确定登录 → poll → redeem once', async () => {
    await bind(openid);
    const ticket = await createTicket();
    assert.equal((await poll(ticket.ticketId)).body.status, 'pending');

    const reply = await scan(openid, sceneOf(ticket));
    assert.match(reply, /确认登录/);
    const link = confirmLink(reply);
    assert.ok(link, reply);
    assert.equal((await poll(ticket.ticketId)).body.status, 'scanned');

    const phone = new H5Client(t.app, wechat.url, openid);
    const page = await phone.open(link[1]!);
    assert.equal(page.status, 200);
    const shown = visibleText(page.text);
    for (const expected of ['确定登录', '取消', '203.0.113.7', 'Windows 上的 Chrome 浏览器', '王*', '请确认是您本人'])
      assert.ok(shown.includes(expected), expected);
    assert.ok(!page.text.includes(taxpayer.idNumber) && !page.text.includes(taxpayer.phone));
    const confirmed = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link[2]! });
    assert.equal(confirmed.status, 200);
    assert.match(visibleText(confirmed.text), /登录成功/);

    assert.equal((await poll(ticket.ticketId)).body.status, 'confirmed');
    const redeemed = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
    assert.equal(redeemed.status, 200);
    assert.equal(redeemed.body.openid, openid);
    assert.equal(redeemed.body.account.id, taxpayer.account.id);
    assert.equal(
      redeemed.body.account.idNumberMasked,
      `${taxpayer.idNumber.slice(0, 3)}***********${taxpayer.idNumber.slice(-4)}`,
    );
    const again = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'ticket_already_redeemed');
    assert.equal((await poll(ticket.ticketId)).body.status, 'redeemed');
    assert.deepEqual(
      (await auditTypes()).filter((type) => type.startsWith('login_')),
      ['login_scanned', 'login_confirmed', 'login_redeemed'],
    );
  });

  it('tells an unbound WeChat to bind or register (needs_binding), and the same QR works after binding', async () => {
    const ticket = await createTicket();
    const reply = await scan(openid, sceneOf(ticket));
    assert.match(reply, /尚未绑定/);
    assert.match(reply, /href="[^"]*\/h5\/bind"[^>]*>实名绑定/);
    assert.match(reply, /href="[^"]*\/h5\/register"[^>]*>实名注册/);
    assert.equal((await poll(ticket.ticketId)).body.status, 'needs_binding');
    await bind(openid);
    assert.ok(confirmLink(await scan(openid, sceneOf(ticket))));
    assert.equal((await poll(ticket.ticketId)).body.status, 'scanned');
  });

  it('treats a subscribe with qrscene_ as a scan', async () => {
    await bind(openid);
    const ticket = await createTicket();
    const reply = await scan(openid, sceneOf(ticket), true);
    assert.ok(confirmLink(reply));
    assert.match(reply, /欢迎关注/);
    assert.equal((await poll(ticket.ticketId)).body.status, 'scanned');
  });

  it('tells another WeChat scanning an owned ticket that it is in use, keeping the owner', async () => {
    await bind(openid);
    const other = sim.createUser('旁人').openid;
    const otherAccount = await createTestAccount(t.deps);
    await bind(other, otherAccount);
    const ticket = await createTicket();
    await scan(openid, sceneOf(ticket));
    assert.match(await scan(other, sceneOf(ticket)), /已被其他微信扫描/);
    const reply = await scan(openid, sceneOf(ticket));
    assert.ok(confirmLink(reply), 'the owner scanning again gets the link again');
  });

  it('answers a scan of an unknown or expired QR with "二维码已过期，请刷新网页上的二维码"', async () => {
    await bind(openid);
    assert.match(await scan(openid, `login_${'a'.repeat(48)}`), /二维码已过期，请刷新网页上的二维码/);
    const ticket = await createTicket();
    clock.advance(301_000);
    assert.equal((await poll(ticket.ticketId)).body.status, 'expired');
    assert.match(await scan(openid, sceneOf(ticket)), /二维码已过期，请刷新网页上的二维码/);
  });

  it('refuses to confirm after expiry, and to redeem what was not confirmed', async () => {
    await bind(openid);
    const ticket = await createTicket();
    const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
    const phone = new H5Client(t.app, wechat.url, openid);
    const page = await phone.open(link[1]!);
    const early = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, 'ticket_not_confirmed');
    clock.advance(300_000);
    const late = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link[2]! });
    assert.match(visibleText(late.text), /二维码已过期/);
    assert.equal((await poll(ticket.ticketId)).body.status, 'expired');
  });

  it('keeps a confirmed login redeemable for a while past the QR expiry', async () => {
    await bind(openid);
    const ticket = await createTicket();
    const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
    clock.advance(290_000);
    assert.equal((await t.deps.login.confirm(link[2]!, openid, { ip: '127.0.0.1', userAgent: 'x' })).result, 'done');
    clock.advance(30_000);
    assert.equal((await poll(ticket.ticketId)).body.status, 'confirmed');
    assert.equal(
      (await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY)).status,
      200,
    );
  });

  describe('the confirm page', () => {
    it('is refused to any WeChat but the one that scanned', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
      const stranger = new H5Client(t.app, wechat.url, sim.createUser('陌生人').openid);
      const page = await stranger.open(link[1]!);
      assert.equal(page.status, 403);
      assert.doesNotMatch(page.text, /王\*|203\.0\.113\.7/);
      const forced = await stranger.post('/h5/login/confirm', {
        _csrf: stranger.csrfToken((await stranger.open('/h5/bind')).text),
        c: link[2]!,
      });
      assert.notEqual(visibleText(forced.text).includes('登录成功'), true);
      assert.equal((await poll(ticket.ticketId)).body.status, 'scanned');
    });

    it('cancels with 取消, after which 确定登录 no longer works', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
      const phone = new H5Client(t.app, wechat.url, openid);
      const page = await phone.open(link[1]!);
      const cancelled = await phone.post('/h5/login/cancel', { _csrf: phone.csrfToken(page.text), c: link[2]! });
      assert.match(visibleText(cancelled.text), /已取消登录/);
      assert.equal((await poll(ticket.ticketId)).body.status, 'cancelled');
      await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link[2]! });
      assert.equal((await poll(ticket.ticketId)).body.status, 'cancelled');
      assert.ok((await auditTypes()).includes('login_cancelled'));
    });

    it('needs the CSRF token to confirm', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
      const phone = new H5Client(t.app, wechat.url, openid);
      await phone.open(link[1]!);
      const res = await phone.post('/h5/login/confirm', { c: link[2]! });
      assert.equal(res.status, 403);
      assert.equal((await poll(ticket.ticketId)).body.status, 'scanned');
    });
  });

  describe('races', () => {
    it('lets exactly one of 50 parallel confirms succeed', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, () => t.deps.login.confirm(link[2]!, openid, { ip: '127.0.0.1', userAgent: 'x' })),
      );
      assert.equal(outcomes.filter((o) => o.result === 'done').length, 1);
      assert.equal((await auditTypes()).filter((type) => type === 'login_confirmed').length, 1);
    });

    it('lets exactly one of 50 parallel redeems succeed', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
      await t.deps.login.confirm(link[2]!, openid, { ip: '127.0.0.1', userAgent: 'x' });
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          api()
            .post(`/api/login/tickets/${ticket.ticketId}/redeem`)
            .set('Authorization', KEY)
            .then((r) => r),
        ),
      );
      assert.equal(answers.filter((a) => a.status === 200).length, 1);
      assert.equal(
        answers.filter((a) => a.status === 409 && a.body.error.code === 'ticket_already_redeemed').length,
        49,
      );
    });
  });

  describe('GET /api/login/tickets/:ticketId', () => {
    it('never answers with personal data, in any state', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const seen: unknown[] = [(await poll(ticket.ticketId)).body];
      const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
      seen.push((await poll(ticket.ticketId)).body);
      await t.deps.login.confirm(link[2]!, openid, { ip: '1.1.1.1', userAgent: 'x' });
      seen.push((await poll(ticket.ticketId)).body);
      await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
      seen.push((await poll(ticket.ticketId)).body);
      for (const body of seen) {
        assert.deepEqual(Object.keys(body as object).sort(), ['expiresAt', 'status', 'ticketId']);
        const text = JSON.stringify(body);
        for (const secret of [
          openid,
          taxpayer.account.id,
          taxpayer.idNumber,
          taxpayer.phone,
          '王',
          link[2]!,
          sceneOf(ticket),
        ])
          assert.ok(!text.includes(secret), secret);
      }
    });

    it('answers 404 for an unknown or malformed ticket and 400 for a bad wait or status', async () => {
      assert.equal((await poll('f'.repeat(48))).status, 404);
      assert.equal((await poll('../../etc')).status, 404);
      const ticket = await createTicket();
      for (const query of ['?wait=31', '?wait=-1', '?wait=abc', '?status=done']) {
        const res = await poll(ticket.ticketId, query);
        assert.equal(res.status, 400, query);
        assert.equal(res.body.error.code, 'invalid_request');
      }
    });

    it('allows the portal origins (CORS) and no others', async () => {
      const ticket = await createTicket();
      const allowed = await poll(ticket.ticketId).then(() =>
        api().get(`/api/login/tickets/${ticket.ticketId}`).set('Origin', env.PORTAL_ORIGINS!),
      );
      assert.equal(allowed.headers['access-control-allow-origin'], env.PORTAL_ORIGINS);
      const denied = await api().get(`/api/login/tickets/${ticket.ticketId}`).set('Origin', 'https://evil.example');
      assert.equal(denied.headers['access-control-allow-origin'], undefined);
      const preflight = await api()
        .options(`/api/login/tickets/${ticket.ticketId}`)
        .set('Origin', env.PORTAL_ORIGINS!)
        .set('Access-Control-Request-Method', 'GET');
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-methods'], 'GET');
    });

    it('holds a long-poll until the status changes, woken by the scan', async () => {
      await bind(openid);
      const ticket = await createTicket();
      const held = poll(ticket.ticketId, '?wait=20&status=pending').then((r) => r);
      await waitFor(() => t.deps.ticketChanges.waiting === 1);
      const started = Date.now();
      await scan(openid, sceneOf(ticket));
      const res = await held;
      assert.equal(res.body.status, 'scanned');
      assert.ok(Date.now() - started < 2000);
      assert.equal(t.deps.ticketChanges.waiting, 0);
    });

    it('answers at once when the status already differs from the one given', async () => {
      const ticket = await createTicket();
      const res = await poll(ticket.ticketId, '?wait=20&status=scanned');
      assert.equal(res.body.status, 'pending');
    });

    it('answers with the unchanged status when the wait runs out', async () => {
      const ticket = await createTicket();
      const res = await poll(ticket.ticketId, '?wait=1&status=pending');
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'pending');
    });

    it('wakes a long-poll held by one instance within 50 ms of a confirm made through another', async () => {
      const other = await createTestApp({ clock, env: wechat.env() });
      try {
        await bind(openid);
        const ticket = await createTicket();
        const link = confirmLink(await scan(openid, sceneOf(ticket)))!;
        let answeredAt = 0;
        const held = poll(ticket.ticketId, '?wait=20&status=scanned').then((r) => {
          answeredAt = performance.now();
          return r;
        });
        await waitFor(() => t.deps.ticketChanges.waiting === 1);
        await other.deps.login.confirm(link[2]!, openid, { ip: '127.0.0.1', userAgent: 'x' });
        const confirmedAt = performance.now();
        const res = await held;
        assert.equal(res.body.status, 'confirmed');
        assert.ok(answeredAt - confirmedAt < 50, `woke after ${(answeredAt - confirmedAt).toFixed(1)} ms`);
      } finally {
        await other.close();
      }
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
