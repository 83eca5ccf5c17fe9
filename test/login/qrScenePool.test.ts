import assert from 'node:assert/strict';
import request from 'supertest';
import { visibleText } from '../support/H5Client';
import { parseExposition, valueOf } from '../observability/support/exposition';
import { API_KEY, World, type CreatedTicket } from '../security/support/world';

const TTL_MS = 300_000;
const QUIET_MS = 300_000;
const EXPIRED_REPLY = '二维码已过期';

/** A World that starts before each test and stops after it: its in-memory stores start empty every time. */
function freshWorldEachTest(env: Record<string, string>): World {
  const w = new World({ env });
  beforeEach(async () => {
    await w.start();
    await w.reset();
  });
  afterEach(() => w.stop());
  return w;
}

/** A World shared by the tests of a describe, reset (Redis and tables emptied) before each. */
function sharedWorld(env: Record<string, string> = {}): World {
  const w = new World({ env });
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());
  return w;
}

/** The whole 微信扫码登录 of a bound WeChat on a new ticket: scan, 确定登录, redeem. */
async function logIn(w: World, nickname = '王纳税'): Promise<CreatedTicket> {
  const phone = w.newUser(nickname);
  const { ticket, token, csrf } = await w.scannedTicket(phone, await w.quickAccount(nickname));
  const done = await phone.post('/h5/login/confirm', { _csrf: csrf, c: token });
  assert.equal(done.status, 200, visibleText(done.text));
  assert.equal((await w.redeem(ticket.ticketId)).status, 200);
  return ticket;
}

async function tryCreateTicket(w: World): Promise<request.Response> {
  return w.api().post('/api/login/tickets').set('Authorization', API_KEY).send({});
}

function describeRecycling(label: string, makeWorld: () => World): void {
  describe(`recycling (${label})`, () => {
    const w = makeWorld();

    it("hands a redeemed ticket's QR to a new ticket once its quiet period is over, without a WeChat call", async () => {
      const first = await logIn(w);
      w.clock.advance(QUIET_MS - 5_000);
      const during = await w.createTicket();
      assert.notEqual(during.qrContent, first.qrContent, 'still quiet: a new QR code');
      assert.equal(w.sim.qrCodeCreatesToday(), 2);
      w.clock.advance(5_000);
      const recycled = await w.createTicket();
      assert.equal(w.sim.qrCodeCreatesToday(), 2, 'no qrcode/create call');
      assert.equal(recycled.qrContent, first.qrContent);
      assert.equal(recycled.qrcodeUrl, first.qrcodeUrl);
      assert.notEqual(recycled.ticketId, first.ticketId);
      assert.equal(recycled.expiresIn, TTL_MS / 1000);
      assert.equal(recycled.expiresAt, new Date(w.clock.now() + TTL_MS).toISOString(), "the ticket's own expiry");
      // The recycled QR logs in as a fresh one does.
      const phone = w.newUser('李纳税');
      await w.insertBinding(phone.openid, await w.quickAccount('李纳税'));
      const link = w.confirmLink(await w.scan(phone.openid, w.sceneOf(recycled)));
      const page = await phone.open(link.path);
      const done = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link.token });
      assert.equal(done.status, 200, visibleText(done.text));
      const redeemed = await w.redeem(recycled.ticketId);
      assert.equal(redeemed.status, 200);
      assert.equal(redeemed.body.openid, phone.openid);
      assert.equal((await w.poll(during.ticketId)).body.status, 'pending', 'the other ticket is untouched');
    });

    it('keeps scan-login working from the pool after WeChat refuses new QR codes with 45009', async () => {
      w.sim.setQrCodeDailyQuota(2);
      const firstTwo = [await logIn(w, '甲'), await logIn(w, '乙')];
      w.clock.advance(QUIET_MS);
      const pooled = [await w.createTicket(), await w.createTicket()];
      assert.deepEqual(
        pooled.map((t) => t.qrContent).sort(),
        firstTwo.map((t) => t.qrContent).sort(),
        'both from the pool',
      );
      const refused = await tryCreateTicket(w);
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, 'wechat_qrcode_quota');
      assert.equal(w.sim.qrCodeCreatesToday(), 2, 'the simulator refused the third QR of the day');
      for (const [i, ticket] of pooled.entries()) {
        const phone = w.newUser(`丙${i}`);
        await w.insertBinding(phone.openid, await w.quickAccount(`丙${i}`));
        const link = w.confirmLink(await w.scan(phone.openid, w.sceneOf(ticket)));
        const page = await phone.open(link.path);
        assert.equal(
          (await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link.token })).status,
          200,
        );
        assert.equal((await w.redeem(ticket.ticketId)).status, 200, 'scan-login goes on from the pool');
      }
    });
  });
}

describe('login: the QR pool (leased, recycled temporary QR codes)', () => {
  describeRecycling('MariaDB + Redis', () => sharedWorld());
  describeRecycling('embedded stores, REDIS_URL=memory', () => freshWorldEachTest({ REDIS_URL: 'memory' }));

  describe('scans of scenes no ticket leases', () => {
    const w = sharedWorld();

    it('answers a scan of a quiet scene with 二维码已过期, changes nothing, and restarts the quiet period', async () => {
      const first = await logIn(w);
      const scene = w.sceneOf(first);
      const stranger = w.newUser('陌生人');
      await w.insertBinding(stranger.openid, await w.quickAccount('陌生人'));
      w.clock.advance(QUIET_MS - 60_000);
      assert.ok((await w.scan(stranger.openid, scene)).includes(EXPIRED_REPLY));
      assert.equal((await w.poll(first.ticketId)).body.status, 'redeemed');
      w.clock.advance(60_000);
      assert.notEqual((await w.createTicket()).qrContent, first.qrContent, 'the scan restarted the quiet period');
      w.clock.advance(QUIET_MS);
      assert.equal((await w.createTicket()).qrContent, first.qrContent);
    });

    it('answers a scan of an idle scene with 二维码已过期 and keeps it out of the next lease', async () => {
      const first = await logIn(w);
      w.clock.advance(QUIET_MS + 60_000);
      const stranger = w.newUser('陌生人');
      await w.insertBinding(stranger.openid, await w.quickAccount('陌生人'));
      assert.ok((await w.scan(stranger.openid, w.sceneOf(first))).includes(EXPIRED_REPLY));
      assert.notEqual((await w.createTicket()).qrContent, first.qrContent);
    });

    it('a stale scan (made before the current lease began) never advances the ticket leasing the scene now', async () => {
      const first = await logIn(w);
      const scannedBefore = String(Math.floor(w.clock.now() / 1000));
      w.clock.advance(QUIET_MS + 1_000);
      const current = await w.createTicket();
      assert.equal(current.qrContent, first.qrContent);
      const phone = w.newUser('王纳税');
      await w.insertBinding(phone.openid, await w.quickAccount('王纳税'));
      // A push whose CreateTime says WeChat saw the scan before this lease started.
      const xml = w.driver.xml(
        phone.openid,
        { MsgType: 'event', Event: 'SCAN', EventKey: w.sceneOf(current) },
        scannedBefore,
      );
      const push = w.driver.sign(xml);
      const res = await w.api().post('/wechat').query(push.query).type('text/xml').send(push.body);
      assert.ok(((await w.driver.readReply(res.text))?.Content ?? '').includes(EXPIRED_REPLY));
      assert.equal((await w.poll(current.ticketId)).body.status, 'pending');
      assert.ok(w.confirmLink(await w.scan(phone.openid, w.sceneOf(current))).token, 'a fresh scan still works');
    });
  });

  describe('retirement before WeChat expiry', () => {
    // 4,000 s of WeChat life: a ticket (300 s) + the margin (3,600 s) fit only in the first 100 s.
    const w = sharedWorld({ LOGIN_QR_LIFETIME_SECONDS: '4000' });

    it('never leases a scene whose QR would expire within a ticket lifetime + the margin; its scans change nothing', async () => {
      const first = await logIn(w);
      w.clock.advance(QUIET_MS);
      const next = await w.createTicket();
      assert.notEqual(next.qrContent, first.qrContent, 'retired, not recycled');
      assert.equal(w.sim.qrCodeCreatesToday(), 2);
      const phone = w.newUser('王纳税');
      await w.insertBinding(phone.openid, await w.quickAccount('王纳税'));
      assert.ok((await w.scan(phone.openid, w.sceneOf(first))).includes(EXPIRED_REPLY));
      assert.equal((await w.poll(next.ticketId)).body.status, 'pending');
      const budget = await w.t.deps.qrPool.budget();
      assert.deepEqual(budget.scenes, { idle: 0, quiet: 0, leased: 1, retired: 1 });
    });
  });

  describe('warm-up (LOGIN_QR_WARM_IDLE)', () => {
    const w = sharedWorld({ LOGIN_QR_WARM_IDLE: '2' });

    it('keeps idle QR codes ready, so a new ticket takes one and the pool is topped up behind it', async () => {
      // Start from nothing: let the warm-up begun at start-up finish, then empty Redis and the simulator.
      await w.t.deps.qrPool.idle();
      await w.reset();
      w.t.deps.qrPool.warmUp();
      await w.t.deps.qrPool.idle();
      const ready = w.sim.qrCodes().map((code) => code.url);
      assert.equal(ready.length, 2);
      const ticket = await w.createTicket();
      assert.ok(ready.includes(ticket.qrContent), 'the ticket got a ready QR code');
      await w.t.deps.qrPool.idle();
      assert.equal(w.sim.qrCodeCreatesToday(), 3);
      assert.deepEqual((await w.t.deps.qrPool.budget()).scenes, { idle: 2, quiet: 0, leased: 1, retired: 0 });
    });
  });

  describe('metrics', () => {
    const w = sharedWorld({ WECHAT_QRCODE_DAILY_QUOTA: '2' });

    it('reports scenes by state, leases by source, and qrcode/create calls today against the quota', async () => {
      w.sim.setQrCodeDailyQuota(2);
      await logIn(w);
      await w.createTicket();
      w.clock.advance(QUIET_MS);
      await w.createTicket();
      assert.equal((await tryCreateTicket(w)).status, 503);
      const res = await request(w.t.app.callback()).get('/metrics');
      const samples = parseExposition(res.text);
      assert.equal(valueOf(samples, 'etax_login_qr_leases_total', { source: 'pool' }), 1);
      assert.equal(valueOf(samples, 'etax_login_qr_leases_total', { source: 'new' }), 2);
      assert.equal(valueOf(samples, 'etax_login_qr_scenes', { state: 'leased' }), 2);
      assert.equal(valueOf(samples, 'etax_login_qr_scenes', { state: 'idle' }), 0);
      assert.equal(valueOf(samples, 'etax_wechat_qrcode_calls_today'), 3, 'the refused call counts too');
      assert.equal(valueOf(samples, 'etax_wechat_qrcode_daily_quota'), 2);
    });
  });
});
