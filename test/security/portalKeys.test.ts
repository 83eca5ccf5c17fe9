import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { visibleText, type H5Client } from '../support/H5Client';
import { testRun } from '../support/testEnv';
import { env, PASSWORD, PC_BROWSER, World, type CreatedTicket } from './support/world';

// Three portals besides the bare test key: the web portal, a mobile app that only logs in, and a
// kiosk with every scope but bindings and authenticate.
const ETAX = 'etax-key-secret-0f3a9c1e5b7d2a4c6e8f0b1d3a5c';
const MOBILE = 'mobile-key-secret-7e2b4d6f8a0c1e3b5d7f9a1c3e5b';
const KIOSK = 'kiosk-key-secret-3c5e7a9b1d3f5a7c9e1b3d5f7a9c';
const PORTAL_API_KEYS = [
  env.PORTAL_API_KEYS,
  `etax:login+bindings+authenticate+password:福建省网上税务局:${ETAX}`,
  `mobile:login:掌上办税:${MOBILE}`,
  `kiosk:login+password:自助办税终端:${KIOSK}`,
].join(',');

const stacks: [string, (file: string) => Record<string, string>][] = [
  ['MariaDB + Redis', () => ({})],
  ['SQLite + in-memory stores (the demo)', (file) => ({ DATABASE_URL: `sqlite:${file}`, REDIS_URL: 'memory' })],
];

for (const [stack, stackEnv] of stacks) {
  describe(`security: named, scoped portal keys (${stack})`, function () {
    this.timeout(30_000);
    const file = path.join(tmpdir(), `etax-${testRun.id}-portal-keys.sqlite`);
    const w = new World({ env: { ...stackEnv(file), PORTAL_API_KEYS } });
    before(() => w.start());
    after(async () => {
      await w.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    });
    beforeEach(() => w.reset());

    const as = (key: string) => `Bearer ${key}`;
    async function createTicket(key: string): Promise<CreatedTicket> {
      const res = await w
        .api()
        .post('/api/login/tickets')
        .set('Authorization', as(key))
        .send({ clientIp: '203.0.113.7', userAgent: PC_BROWSER });
      assert.equal(res.status, 201, res.text);
      return res.body as CreatedTicket;
    }
    // The scene of the ticket's leased QR code, from the ticket itself: on the embedded stack the pool
    // outlives World.reset(), which forgets the simulator's QR codes.
    const sceneOf = async (ticket: CreatedTicket) =>
      (await w.t.deps.stores.loginTickets.byTicketId(ticket.ticketId))!.qrScene!;
    /** A bound WeChat scans `ticket`; returns the phone with the confirm page open and its form fields. */
    async function scanned(ticket: CreatedTicket, phone?: H5Client) {
      const taxpayer = await w.quickAccount('林纳税');
      const client = phone ?? w.newUser('林纳税');
      await w.insertBinding(client.openid, taxpayer);
      const link = w.confirmLink(await w.scan(client.openid, await sceneOf(ticket)));
      const page = await client.open(link.path);
      assert.equal(page.status, 200, visibleText(page.text));
      return { taxpayer, phone: client, page, token: link.token, csrf: client.csrfToken(page.text) };
    }
    const redeemWith = (key: string, ticketId: string) =>
      w.api().post(`/api/login/tickets/${ticketId}/redeem`).set('Authorization', as(key));

    it("V8.2.2 portal B cannot redeem portal A's ticket (404, nothing spent); A still can; anyone may poll it", async () => {
      const ticket = await createTicket(ETAX);
      const s = await scanned(ticket);
      assert.match(
        visibleText((await s.phone.post('/h5/login/confirm', { _csrf: s.csrf, c: s.token })).text),
        /登录成功/,
      );

      for (const other of [MOBILE, KIOSK, env.PORTAL_API_KEYS!]) {
        const stolen = await redeemWith(other, ticket.ticketId);
        assert.equal(stolen.status, 404, stolen.text);
        assert.deepEqual(stolen.body, { error: { code: 'ticket_not_found', message: 'no such login ticket' } });
      }
      const poll = await w.poll(ticket.ticketId);
      assert.equal(poll.body.status, 'confirmed', 'read by id as before; the refused redeems spent nothing');

      const redeemed = await redeemWith(ETAX, ticket.ticketId);
      assert.equal(redeemed.status, 200, redeemed.text);
      assert.equal(redeemed.body.account.id, s.taxpayer.account.id);
    });

    it('V8.2.1 a key without the bindings scope can neither list nor remove bindings (403 insufficient_scope)', async () => {
      const taxpayer = await w.quickAccount();
      const bindingId = await w.insertBinding(w.sim.createUser('税友').openid, taxpayer);
      const url = `/api/accounts/${taxpayer.account.id}/wechat-bindings`;
      for (const key of [MOBILE, KIOSK]) {
        const list = await w.api().get(url).set('Authorization', as(key));
        assert.equal(list.status, 403, list.text);
        assert.equal(list.body.error.code, 'insufficient_scope');
        assert.equal(
          list.headers['www-authenticate'],
          'Bearer realm="etax-wechat", error="insufficient_scope", scope="bindings"',
        );
        assert.equal(list.body.bindings, undefined);
        const removed = await w.api().delete(`${url}/${bindingId}`).set('Authorization', as(key));
        assert.equal(removed.status, 403, removed.text);
        assert.equal(removed.body.error.code, 'insufficient_scope');
      }
      assert.equal(await w.bindings().countBy({ id: bindingId }), 1, 'the binding stands');
      assert.equal((await w.audit('unbind')).length, 0);
      const allowed = await w.api().get(url).set('Authorization', as(ETAX));
      assert.equal(allowed.status, 200);
      assert.equal(allowed.body.bindings.length, 1);
    });

    it('V8.2.1 a key without the authenticate scope is no password oracle (403 before any password is checked)', async () => {
      const taxpayer = await w.quickAccount();
      for (const password of [PASSWORD, 'wrong-password-1']) {
        const res = await w
          .api()
          .post('/api/accounts/authenticate')
          .set('Authorization', as(MOBILE))
          .send({ loginName: taxpayer.phone, password });
        assert.equal(res.status, 403, res.text);
        assert.equal(res.body.error.code, 'insufficient_scope');
      }
      assert.equal((await w.audit()).filter((e) => e.type.startsWith('authenticate')).length, 0, 'nothing was tried');
    });

    it('V8.2.1 a key without the login scope creates and redeems no tickets', async () => {
      const bindingsOnly = 'bindings-key-secret-5a7c9e1b3d5f7a9c1e3b5d7f9a1c';
      const narrow = new World({
        env: { ...stackEnv(`${file}-narrow`), PORTAL_API_KEYS: `admin:bindings:账户管理:${bindingsOnly}` },
      });
      await narrow.start();
      try {
        const created = await narrow.api().post('/api/login/tickets').set('Authorization', as(bindingsOnly)).send({});
        assert.equal(created.status, 403);
        assert.equal(created.body.error.code, 'insufficient_scope');
        const redeemed = await narrow
          .api()
          .post(`/api/login/tickets/${'a'.repeat(48)}/redeem`)
          .set('Authorization', as(bindingsOnly));
        assert.equal(redeemed.status, 403);
      } finally {
        await narrow.stop();
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}-narrow${suffix}`, { force: true });
      }
    });

    it("the phone's confirm page names the portal that asks, by its display name", async () => {
      const web = await scanned(await createTicket(ETAX));
      assert.match(visibleText(web.page.text), /福建省网上税务局 请求登录/);
      const app = await scanned(await createTicket(MOBILE));
      assert.match(visibleText(app.page.text), /掌上办税 请求登录/);
      assert.doesNotMatch(visibleText(app.page.text), /福建省网上税务局 请求登录/);
      const bare = await scanned(await createTicket(env.PORTAL_API_KEYS!));
      assert.match(visibleText(bare.page.text), /网上税务局 请求登录/, 'a bare key is the portal 网上税务局');
    });

    it("V16.3.1 audit rows record the portal's key name: the login's events, 解绑 and password checks", async () => {
      const ticket = await createTicket(MOBILE);
      const s = await scanned(ticket);
      await s.phone.post('/h5/login/confirm', { _csrf: s.csrf, c: s.token });
      assert.equal((await redeemWith(MOBILE, ticket.ticketId)).status, 200);

      const cancelledTicket = await createTicket(KIOSK);
      const c = await scanned(cancelledTicket);
      await c.phone.post('/h5/login/cancel', { _csrf: c.csrf, c: c.token });

      const bindingId = (await w.bindings().findOneByOrFail({ openid: s.phone.openid })).id;
      const unbound = await w
        .api()
        .delete(`/api/accounts/${s.taxpayer.account.id}/wechat-bindings/${bindingId}`)
        .set('Authorization', as(ETAX));
      assert.equal(unbound.status, 204);
      for (const password of [PASSWORD, 'wrong-password-1']) {
        await w
          .api()
          .post('/api/accounts/authenticate')
          .set('Authorization', as(ETAX))
          .send({ loginName: s.taxpayer.phone, password });
      }
      await w.api().post('/api/accounts/authenticate').set('Authorization', as(env.PORTAL_API_KEYS!)).send({
        loginName: s.taxpayer.phone,
        password: PASSWORD,
      });

      const portals = (await w.audit()).map((e) => `${e.type} ${String(e.detail?.portal)}`);
      assert.deepEqual(portals, [
        'login_scanned mobile',
        'login_confirmed mobile',
        'login_redeemed mobile',
        'login_scanned kiosk',
        'login_cancelled kiosk',
        'unbind etax',
        'authenticate_succeeded etax',
        'authenticate_failed etax',
        'authenticate_succeeded portal',
      ]);
    });
  });
}
