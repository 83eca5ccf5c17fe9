import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../../src/clock/Clock';
import { WeChatSimulator } from '../../../src/sandbox/simulator/WeChatSimulator';

const APP_ID = 'wx0123456789abcdef';
const APP_SECRET = 'secret0123456789secret0123456789';
const MINUTE = 60_000;

describe('sandbox/simulator/WeChatSimulator', () => {
  let clock: ManualClock;
  let sim: WeChatSimulator;
  const http = (): ReturnType<typeof request> => request(sim.app.callback());

  beforeEach(() => {
    clock = new ManualClock(Date.UTC(2024, 0, 15, 2, 0, 0));
    sim = new WeChatSimulator({
      appId: APP_ID,
      appSecret: APP_SECRET,
      clock,
      publicBase: 'http://sim.test/sandbox/wechat/',
    });
  });

  async function fetchToken(): Promise<string> {
    const res = await http()
      .get('/cgi-bin/token')
      .query({ grant_type: 'client_credential', appid: APP_ID, secret: APP_SECRET });
    assert.equal(typeof res.body.access_token, 'string', JSON.stringify(res.body));
    return res.body.access_token as string;
  }

  async function fetchStable(forceRefresh?: boolean): Promise<{ access_token: string; expires_in: number }> {
    const res = await http()
      .post('/cgi-bin/stable_token')
      .send({
        grant_type: 'client_credential',
        appid: APP_ID,
        secret: APP_SECRET,
        ...(forceRefresh === undefined ? {} : { force_refresh: forceRefresh }),
      });
    assert.equal(typeof res.body.access_token, 'string', JSON.stringify(res.body));
    return res.body as { access_token: string; expires_in: number };
  }

  /** Any token-protected API will do to see whether a token still works. */
  async function menuGetWith(token: string | undefined): Promise<{ errcode?: number; errmsg?: string }> {
    const res = await http()
      .get('/cgi-bin/menu/get')
      .query(token === undefined ? {} : { access_token: token });
    assert.equal(res.status, 200);
    return res.body as { errcode?: number; errmsg?: string };
  }

  async function errcodeWith(token: string): Promise<number | undefined> {
    return (await menuGetWith(token)).errcode;
  }

  describe('/cgi-bin/token', () => {
    it('issues a new long URL-safe token valid for 7200 s on every call and counts the fetches', async () => {
      const res = await http()
        .get('/cgi-bin/token')
        .query({ grant_type: 'client_credential', appid: APP_ID, secret: APP_SECRET });
      assert.equal(res.status, 200);
      assert.equal(res.body.expires_in, 7200);
      assert.equal(res.body.errcode, undefined);
      assert.match(res.body.access_token as string, /^[A-Za-z0-9_-]{64,}$/);
      const second = await fetchToken();
      assert.notEqual(second, res.body.access_token);
      assert.equal(sim.tokenFetches(), 2);
    });

    it('keeps the replaced token working for 300 s, then answers 40001 for it', async () => {
      const first = await fetchToken();
      const second = await fetchToken();
      clock.advance(299_000);
      assert.equal(await errcodeWith(first), 46003);
      clock.advance(1_000);
      assert.deepEqual(await menuGetWith(first), {
        errcode: 40001,
        errmsg: 'invalid credential, access_token is invalid or not latest',
      });
      assert.equal(await errcodeWith(second), 46003);
    });

    it('answers 42001 once a token is 7200 s old', async () => {
      const token = await fetchToken();
      clock.advance(7199_000);
      assert.equal(await errcodeWith(token), 46003);
      clock.advance(1_000);
      assert.deepEqual(await menuGetWith(token), { errcode: 42001, errmsg: 'access_token expired' });
    });

    it('rejects a wrong grant_type (40002), appid (40013) and secret (40125) without counting a fetch', async () => {
      const ask = async (query: Record<string, string>): Promise<unknown> =>
        (await http().get('/cgi-bin/token').query(query)).body;
      assert.equal(
        ((await ask({ grant_type: 'password', appid: APP_ID, secret: APP_SECRET })) as { errcode: number }).errcode,
        40002,
      );
      assert.deepEqual(await ask({ grant_type: 'client_credential', appid: 'wxwrong', secret: APP_SECRET }), {
        errcode: 40013,
        errmsg: 'invalid appid',
      });
      assert.deepEqual(await ask({ grant_type: 'client_credential', appid: APP_ID, secret: 'nope' }), {
        errcode: 40125,
        errmsg: 'invalid appsecret',
      });
      assert.equal(sim.tokenFetches(), 0);
    });
  });

  describe('access_token checks on the APIs', () => {
    it('answers 41001 without a token and 40014 for an unknown one', async () => {
      assert.deepEqual(await menuGetWith(undefined), { errcode: 41001, errmsg: 'access_token missing' });
      assert.deepEqual(await menuGetWith('not-a-token'), { errcode: 40014, errmsg: 'invalid access_token' });
    });

    it('answers 40001 after invalidateAccessTokens and 42001 after expireAccessTokens', async () => {
      const invalidated = await fetchToken();
      sim.invalidateAccessTokens();
      assert.equal(await errcodeWith(invalidated), 40001);
      const expired = await fetchToken();
      sim.expireAccessTokens();
      assert.equal(await errcodeWith(expired), 42001);
      assert.equal(await errcodeWith(await fetchToken()), 46003, 'tokens issued afterwards work');
    });
  });

  describe('/cgi-bin/stable_token', () => {
    it('returns the same token with the remaining lifetime while more than 300 s are left', async () => {
      const first = await fetchStable();
      assert.equal(first.expires_in, 7200);
      assert.match(first.access_token, /^[A-Za-z0-9_-]{64,}$/);
      clock.advance(6000_000);
      const again = await fetchStable(false);
      assert.equal(again.access_token, first.access_token);
      assert.equal(again.expires_in, 1200);
      assert.equal(sim.tokenFetches(), 2);
    });

    it('rotates within the last 300 s while the old token lives out its own expiry', async () => {
      const first = await fetchStable();
      clock.advance(6900_000);
      const rotated = await fetchStable();
      assert.notEqual(rotated.access_token, first.access_token);
      assert.equal(rotated.expires_in, 7200);
      assert.equal((await fetchStable()).access_token, rotated.access_token);
      assert.equal(await errcodeWith(first.access_token), 46003);
      clock.advance(300_000);
      assert.equal(await errcodeWith(first.access_token), 42001);
      assert.equal(await errcodeWith(rotated.access_token), 46003);
    });

    it('lives in its own token space: /cgi-bin/token and stable_token never revoke each other', async () => {
      const plain = await fetchToken();
      const stable = await fetchStable();
      await fetchStable(true);
      clock.advance(400_000);
      assert.equal(await errcodeWith(plain), 46003, 'a forced stable refresh did not replace the plain token');
      assert.equal(await errcodeWith(stable.access_token), 40001, 'force_refresh killed the old stable token');
      const stableNow = await fetchStable();
      await fetchToken();
      await fetchToken();
      clock.advance(400_000);
      assert.equal(await errcodeWith(stableNow.access_token), 46003, '/cgi-bin/token calls did not replace it');
    });

    it('force_refresh revokes the previous token at once, but only 30 s apart', async () => {
      const first = await fetchStable();
      const forced = await fetchStable(true);
      assert.notEqual(forced.access_token, first.access_token);
      assert.equal(forced.expires_in, 7200);
      assert.equal(await errcodeWith(first.access_token), 40001);
      clock.advance(29_000);
      const tooSoon = await fetchStable(true);
      assert.equal(tooSoon.access_token, forced.access_token, 'refused force behaves as a normal call');
      assert.equal(tooSoon.expires_in, 7171);
      clock.advance(1_000);
      assert.notEqual((await fetchStable(true)).access_token, forced.access_token);
    });

    it('allows at most 20 forced refreshes per day', async () => {
      const tokens = new Set<string>();
      for (let i = 0; i < 21; i += 1) {
        tokens.add((await fetchStable(true)).access_token);
        clock.advance(31_000);
      }
      assert.equal(tokens.size, 20);
      clock.advance(24 * 3600_000);
      tokens.add((await fetchStable(true)).access_token);
      assert.equal(tokens.size, 21, 'the allowance comes back the next day');
    });

    it('answers 47001 for a body that is not JSON and checks the credentials like /cgi-bin/token', async () => {
      const bad = await http()
        .post('/cgi-bin/stable_token')
        .set('Content-Type', 'application/json')
        .send('{"grant_type":');
      assert.deepEqual(bad.body, { errcode: 47001, errmsg: 'data format error' });
      const wrongSecret = await http()
        .post('/cgi-bin/stable_token')
        .send({ grant_type: 'client_credential', appid: APP_ID, secret: 'nope' });
      assert.equal(wrongSecret.body.errcode, 40125);
      assert.equal(sim.tokenFetches(), 0);
    });

    it('answers a GET with 43002 require POST method', async () => {
      const res = await http().get('/cgi-bin/stable_token');
      assert.deepEqual(res.body, { errcode: 43002, errmsg: 'require POST method' });
    });
  });

  describe('/cgi-bin/qrcode/create and showqrcode', () => {
    let token: string;
    beforeEach(async () => {
      token = await fetchToken();
    });

    const create = async (body: unknown): Promise<Record<string, unknown>> =>
      (
        await http()
          .post('/cgi-bin/qrcode/create')
          .query({ access_token: token })
          .send(body as object)
      ).body as Record<string, unknown>;

    it('creates a temporary string-scene code that lasts 60 s by default', async () => {
      const body = await create({ action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'login_abc' } } });
      assert.equal(body.expire_seconds, 60);
      assert.equal(body.errcode, undefined);
      const ticket = body.ticket as string;
      assert.match(ticket, /^[A-Za-z0-9+/]+=+$/);
      assert.ok(ticket.includes('+') && ticket.includes('/'));
      assert.match(body.url as string, /^http:\/\/weixin\.qq\.com\/q\/[A-Za-z0-9]+$/);
      assert.deepEqual(sim.qrByTicket(ticket), {
        ticket,
        url: body.url,
        sceneStr: 'login_abc',
        expiresAt: clock.now() + 60_000,
        permanent: false,
      });
      assert.equal(sim.qrByUrl(body.url as string)?.ticket, ticket);
      assert.equal(
        sim.qrImageUrl(ticket),
        `http://sim.test/sandbox/wechat/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`,
      );
    });

    it('creates a temporary integer-scene code and clamps expire_seconds to 30 days', async () => {
      const body = await create({
        expire_seconds: 9_999_999,
        action_name: 'QR_SCENE',
        action_info: { scene: { scene_id: 4_000_000_000 } },
      });
      assert.equal(body.expire_seconds, 2_592_000);
      const code = sim.qrByTicket(body.ticket as string);
      assert.equal(code?.sceneId, 4_000_000_000);
      assert.equal(code?.expiresAt, clock.now() + 2_592_000_000);
    });

    it('creates permanent codes without expire_seconds, one per scene', async () => {
      const byId = await create({
        action_name: 'QR_LIMIT_SCENE',
        expire_seconds: 60,
        action_info: { scene: { scene_id: 100_000 } },
      });
      assert.equal(byId.expire_seconds, undefined);
      assert.deepEqual(Object.keys(byId).sort(), ['ticket', 'url']);
      const byStr = await create({
        action_name: 'QR_LIMIT_STR_SCENE',
        action_info: { scene: { scene_str: 'x'.repeat(64) } },
      });
      assert.equal(sim.qrByTicket(byStr.ticket as string)?.permanent, true);
      assert.equal(sim.qrByTicket(byStr.ticket as string)?.expiresAt, null);
      const again = await create({
        action_name: 'QR_LIMIT_STR_SCENE',
        action_info: { scene: { scene_str: 'x'.repeat(64) } },
      });
      assert.equal(again.ticket, byStr.ticket);
    });

    const malformed: [string, unknown][] = [
      ['action_info without the scene wrapper', { action_name: 'QR_STR_SCENE', action_info: { scene_str: 'a' } }],
      ['no action_info', { action_name: 'QR_SCENE' }],
      ['an unknown action_name', { action_name: 'QR_FOREVER', action_info: { scene: { scene_id: 1 } } }],
      ['scene_id given as a string', { action_name: 'QR_SCENE', action_info: { scene: { scene_id: '12' } } }],
      ['scene_id 0', { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 0 } } }],
      ['scene_id above 32 bits', { action_name: 'QR_SCENE', action_info: { scene: { scene_id: 2 ** 32 } } }],
      [
        'a permanent scene_id above 100000',
        { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100_001 } } },
      ],
      ['an empty scene_str', { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: '' } } }],
      [
        'a 65-character scene_str',
        { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(65) } } },
      ],
      ['scene_str for an integer action', { action_name: 'QR_SCENE', action_info: { scene: { scene_str: 'a' } } }],
      [
        'expire_seconds as a string',
        { expire_seconds: '60', action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'a' } } },
      ],
      ['a JSON array', [1, 2]],
    ];
    for (const [what, body] of malformed) {
      it(`answers 40053 invalid action info for ${what}`, async () => {
        assert.deepEqual(await create(body), { errcode: 40053, errmsg: 'invalid action info' });
        assert.equal(sim.qrCodes().length, 0);
      });
    }

    it('serves a cacheable PNG of the code for a URL-encoded ticket, and 404 once it has expired', async () => {
      const body = await create({
        expire_seconds: 120,
        action_name: 'QR_STR_SCENE',
        action_info: { scene: { scene_str: 's' } },
      });
      const ticket = body.ticket as string;
      const image = await http()
        .get(`/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        });
      assert.equal(image.status, 200);
      assert.equal(image.headers['content-type'], 'image/png');
      assert.equal(image.headers['cache-control'], 'max-age=604800');
      const png = image.body as Buffer;
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.readUInt32BE(16), 430, 'IHDR width');

      const unencoded = await http().get(`/cgi-bin/showqrcode?ticket=${ticket}`);
      assert.equal(unencoded.status, 404, "an unencoded '+' arrives as a space");
      clock.advance(120_000);
      assert.equal((await http().get('/cgi-bin/showqrcode').query({ ticket })).status, 404);
    });

    it('answers 404 for an unknown ticket', async () => {
      assert.equal((await http().get('/cgi-bin/showqrcode').query({ ticket: 'gQH47joAAAAAAAAAASxo==' })).status, 404);
      assert.equal((await http().get('/cgi-bin/showqrcode')).status, 404);
    });

    it('requires an access token to create a code', async () => {
      const res = await http()
        .post('/cgi-bin/qrcode/create')
        .send({ action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } });
      assert.equal(res.body.errcode, 41001);
    });

    it('keeps a 30-day code (expire_seconds 2,592,000) and its showqrcode image alive for 30 days', async () => {
      const body = await create({
        expire_seconds: 2_592_000,
        action_name: 'QR_STR_SCENE',
        action_info: { scene: { scene_str: `login_${'a'.repeat(58)}` } },
      });
      assert.equal(body.expire_seconds, 2_592_000);
      clock.advance(2_592_000_000 - 1000);
      assert.equal(
        (
          await http()
            .get('/cgi-bin/showqrcode')
            .query({ ticket: body.ticket as string })
        ).status,
        200,
      );
      clock.advance(1000);
      assert.equal(
        (
          await http()
            .get('/cgi-bin/showqrcode')
            .query({ ticket: body.ticket as string })
        ).status,
        404,
      );
    });

    it('answers 45009 past the daily qrcode/create quota, until midnight Beijing time', async () => {
      sim.setQrCodeDailyQuota(2);
      const scene = { action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: 'login_q' } } };
      assert.ok((await create(scene)).ticket);
      assert.ok((await create(scene)).ticket);
      const refused = await create(scene);
      assert.equal(refused.errcode, 45009);
      assert.equal(refused.ticket, undefined);
      assert.equal(sim.qrCodeCreatesToday(), 2);
      // The test clock starts at 10:00 Beijing time: 14 hours later is the next day there.
      clock.advance(14 * 3600_000);
      token = await fetchToken();
      assert.ok((await create(scene)).ticket, 'a new day, a new quota');
    });
  });

  describe('custom menu', () => {
    let token: string;
    beforeEach(async () => {
      token = await fetchToken();
    });

    const validMenu = {
      button: [
        { type: 'click', name: '办税指南', key: 'FAKE_KEY_GUIDE' },
        {
          name: '服务',
          sub_button: [
            { type: 'view', name: '电子税务局', url: 'https://etax.example.invalid/h5/' },
            { type: 'click', name: '联系我们', key: 'FAKE_KEY_CONTACT' },
          ],
        },
      ],
    };
    const createMenu = async (body: unknown): Promise<unknown> =>
      (
        await http()
          .post('/cgi-bin/menu/create')
          .query({ access_token: token })
          .send(body as object)
      ).body;
    const get = async (): Promise<Record<string, unknown>> =>
      (await http().get('/cgi-bin/menu/get').query({ access_token: token })).body as Record<string, unknown>;

    it('stores a valid menu, returns it from menu/get and forgets it on menu/delete', async () => {
      assert.deepEqual(await get(), { errcode: 46003, errmsg: 'menu no exist' });
      assert.deepEqual(await createMenu(validMenu), { errcode: 0, errmsg: 'ok' });
      assert.deepEqual(sim.menu, validMenu);
      const got = (await get()).menu as { button: unknown[]; menuid: unknown };
      assert.equal(typeof got.menuid, 'number');
      assert.deepEqual(got.button, [
        { type: 'click', name: '办税指南', key: 'FAKE_KEY_GUIDE', sub_button: [] },
        {
          name: '服务',
          sub_button: [
            { type: 'view', name: '电子税务局', url: 'https://etax.example.invalid/h5/', sub_button: [] },
            { type: 'click', name: '联系我们', key: 'FAKE_KEY_CONTACT', sub_button: [] },
          ],
        },
      ]);
      const deleted = await http().get('/cgi-bin/menu/delete').query({ access_token: token });
      assert.deepEqual(deleted.body, { errcode: 0, errmsg: 'ok' });
      assert.equal(sim.menu, null);
      assert.deepEqual(await get(), { errcode: 46003, errmsg: 'menu no exist' });
    });

    it('accepts names of exactly 16 bytes at the top and 60 bytes below, counted in UTF-8', async () => {
      const top = '办税指南服a'; // 5 × 3 + 1 = 16 bytes
      const sub = '子'.repeat(20); // 60 bytes
      const menu = { button: [{ name: top, sub_button: [{ type: 'click', name: sub, key: 'K' }] }] };
      assert.deepEqual(await createMenu(menu), { errcode: 0, errmsg: 'ok' });
    });

    const click = (name = 'a'): Record<string, unknown> => ({ type: 'click', name, key: 'K' });
    const cases: [string, unknown, number, string][] = [
      ['no buttons', { button: [] }, 40016, 'invalid button size'],
      ['four buttons', { button: [click(), click(), click(), click()] }, 40016, 'invalid button size'],
      [
        'six sub-buttons',
        { button: [{ name: 'm', sub_button: [1, 2, 3, 4, 5, 6].map(() => click()) }] },
        40023,
        'invalid sub button size',
      ],
      ['an empty sub_button list', { button: [{ name: 'm', sub_button: [] }] }, 40023, 'invalid sub button size'],
      ['a 17-byte top-level name', { button: [click('办税指南服ab')] }, 40018, 'invalid button name size'],
      [
        'a 61-byte sub-level name',
        { button: [{ name: 'm', sub_button: [click(`${'子'.repeat(20)}a`)] }] },
        40025,
        'invalid sub button name size',
      ],
      [
        'a 129-byte key',
        { button: [{ type: 'click', name: 'a', key: 'k'.repeat(129) }] },
        40019,
        'invalid button key size',
      ],
      ['a click button without key', { button: [{ type: 'click', name: 'a' }] }, 40019, 'invalid button key size'],
      [
        'a top-level view button without url',
        { button: [{ type: 'view', name: 'a' }] },
        40021,
        'invalid button url size',
      ],
      [
        'a 1025-byte top-level url',
        { button: [{ type: 'view', name: 'a', url: `https://x.test/${'u'.repeat(1010)}` }] },
        40021,
        'invalid button url size',
      ],
      [
        'a sub-level view button without url',
        { button: [{ name: 'm', sub_button: [{ type: 'view', name: 'a' }] }] },
        40027,
        'invalid sub button url size',
      ],
      [
        'a 1025-byte sub-level url',
        {
          button: [{ name: 'm', sub_button: [{ type: 'view', name: 'a', url: `https://x.test/${'u'.repeat(1010)}` }] }],
        },
        40027,
        'invalid sub button url size',
      ],
      ['an unknown type', { button: [{ type: 'teleport', name: 'a', key: 'K' }] }, 40017, 'invalid button type'],
      [
        'a parent button that also has a type',
        { button: [{ type: 'click', name: 'm', key: 'K', sub_button: [click()] }] },
        40017,
        'invalid button type',
      ],
    ];
    for (const [what, body, errcode, errmsg] of cases) {
      it(`rejects ${what} with ${errcode} and keeps the previous menu`, async () => {
        await createMenu(validMenu);
        assert.deepEqual(await createMenu(body), { errcode, errmsg });
        assert.deepEqual(sim.menu, validMenu);
      });
    }
  });

  describe('customer-service messages', () => {
    let token: string;
    beforeEach(async () => {
      token = await fetchToken();
    });
    const send = async (body: unknown): Promise<unknown> =>
      (
        await http()
          .post('/cgi-bin/message/custom/send')
          .query({ access_token: token })
          .send(body as object)
      ).body;

    it('puts a text message to a known user in the outbox', async () => {
      const user = sim.createUser('张三');
      const body = { touser: user.openid, msgtype: 'text', text: { content: '登录成功' } };
      clock.advance(5_000);
      assert.deepEqual(await send(body), { errcode: 0, errmsg: 'ok' });
      assert.deepEqual(sim.outbox, [{ kind: 'custom', touser: user.openid, body, at: clock.now() }]);
    });

    it('answers 40003 for an openid the simulator does not know, and sends nothing', async () => {
      const res = await send({ touser: 'oUnknown0000000000000000000', msgtype: 'text', text: { content: 'hi' } });
      assert.deepEqual(res, { errcode: 40003, errmsg: 'invalid openid' });
      assert.equal(sim.outbox.length, 0);
    });

    it('accepts one news article and answers 45008 for more', async () => {
      const { openid } = sim.addUser({ openid: 'oAbCdEfGhIjKlMnOpQrStUvWxYz0', nickname: 'n' });
      const article = { title: 'T', description: 'D', url: 'https://x.test/', picurl: 'https://x.test/p.png' };
      assert.equal(
        ((await send({ touser: openid, msgtype: 'news', news: { articles: [article] } })) as { errcode: number })
          .errcode,
        0,
      );
      assert.deepEqual(await send({ touser: openid, msgtype: 'news', news: { articles: [article, article] } }), {
        errcode: 45008,
        errmsg: 'article size out of limit',
      });
      assert.equal(sim.outbox.length, 1);
    });
  });

  describe('template messages', () => {
    let token: string;
    beforeEach(async () => {
      token = await fetchToken();
    });
    const send = async (body: unknown): Promise<Record<string, unknown>> =>
      (
        await http()
          .post('/cgi-bin/message/template/send')
          .query({ access_token: token })
          .send(body as object)
      ).body as Record<string, unknown>;

    it('answers ok with a numeric msgid and records the message', async () => {
      const user = sim.createUser('李四');
      const body = {
        touser: user.openid,
        template_id: 'TPL',
        url: 'https://x.test/',
        data: { thing1: { value: '增值税申报提醒' } },
      };
      const res = await send(body);
      assert.equal(res.errcode, 0);
      assert.equal(res.errmsg, 'ok');
      assert.ok(Number.isSafeInteger(res.msgid));
      assert.deepEqual(sim.outbox, [
        { kind: 'template', touser: user.openid, body, at: clock.now(), msgid: res.msgid },
      ]);
      const next = await send(body);
      assert.notEqual(next.msgid, res.msgid);
    });

    it('answers 40037 without template_id and 40003 for an unknown user', async () => {
      const user = sim.createUser('王五');
      assert.deepEqual(await send({ touser: user.openid, data: {} }), {
        errcode: 40037,
        errmsg: 'invalid template_id',
      });
      assert.deepEqual(await send({ touser: 'oNobody', template_id: 'TPL', data: {} }), {
        errcode: 40003,
        errmsg: 'invalid openid',
      });
      assert.equal(sim.outbox.length, 0);
    });

    it('lists the templates of 我的模板 (get_all_private_template) as the console added them', async () => {
      sim.addMessageTemplate({
        template_id: 'TPL',
        title: '账号登录提醒',
        content: '登录时间：{{time1.DATA}}',
        example: '',
      });
      const res = await http().get('/cgi-bin/template/get_all_private_template').query({ access_token: token });
      const list = (res.body as { template_list: Record<string, unknown>[] }).template_list;
      assert.equal(list.length, 1);
      assert.equal(list[0]!.template_id, 'TPL');
      assert.equal(list[0]!.title, '账号登录提醒');
      assert.equal(list[0]!.content, '登录时间：{{time1.DATA}}');
      assert.deepEqual(sim.messageTemplate('TPL')?.title, '账号登录提醒');
      assert.equal(sim.messageTemplate('OTHER'), undefined);
    });
  });

  describe('web OAuth', () => {
    const authorize = (query: Record<string, string>): ReturnType<ReturnType<typeof request>['get']> =>
      http()
        .get('/connect/oauth2/authorize')
        .query({ appid: APP_ID, response_type: 'code', scope: 'snsapi_base', ...query });

    async function codeFor(openid: string, scope: 'snsapi_base' | 'snsapi_userinfo'): Promise<string> {
      const res = await authorize({ redirect_uri: 'https://app.test/cb', scope, state: 's' }).set(
        'X-Sim-Openid',
        openid,
      );
      assert.equal(res.status, 302);
      const code = new URL(res.headers.location as string).searchParams.get('code');
      assert.ok(code);
      return code;
    }

    const exchange = async (code: string, overrides: Record<string, string> = {}): Promise<Record<string, unknown>> =>
      (
        await http()
          .get('/sns/oauth2/access_token')
          .query({ appid: APP_ID, secret: APP_SECRET, code, grant_type: 'authorization_code', ...overrides })
      ).body as Record<string, unknown>;

    it('redirects a known user to redirect_uri with code and state, keeping its query and fragment', async () => {
      const user = sim.createUser('赵六');
      const res = await authorize({
        redirect_uri: 'https://app.test/h5/cb?from=menu&x=a%20b#/bind',
        state: 'abc123',
      }).set('X-Sim-Openid', user.openid);
      assert.equal(res.status, 302);
      const location = res.headers.location as string;
      assert.match(
        location,
        /^https:\/\/app\.test\/h5\/cb\?from=menu&x=a%20b&code=[A-Za-z0-9]{32,}&state=abc123#\/bind$/,
      );
    });

    it('recognises the user by the wxsim_openid cookie too', async () => {
      const user = sim.createUser('钱七');
      const res = await authorize({ redirect_uri: 'https://app.test/cb', state: 'z' }).set(
        'Cookie',
        `wxsim_openid=${user.openid}`,
      );
      assert.equal(res.status, 302);
      assert.match(res.headers.location as string, /^https:\/\/app\.test\/cb\?code=[A-Za-z0-9]{32,}&state=z$/);
    });

    it('shows "请在微信客户端打开链接" when no WeChat user is present', async () => {
      const res = await authorize({ redirect_uri: 'https://app.test/cb' });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] as string, /^text\/html; charset=utf-8/);
      assert.match(res.text, /请在微信客户端打开链接/);
    });

    it('shows an error page for a wrong appid (10013), scope (10005) or a missing redirect_uri (10003)', async () => {
      const user = sim.createUser('u');
      const wrongAppId = await authorize({ appid: 'wxother', redirect_uri: 'https://app.test/cb' }).set(
        'X-Sim-Openid',
        user.openid,
      );
      assert.equal(wrongAppId.status, 200);
      assert.match(wrongAppId.text, /10013/);
      const wrongScope = await authorize({ redirect_uri: 'https://app.test/cb', scope: 'snsapi_login' }).set(
        'X-Sim-Openid',
        user.openid,
      );
      assert.match(wrongScope.text, /10005/);
      const noRedirect = await authorize({}).set('X-Sim-Openid', user.openid);
      assert.match(noRedirect.text, /10003/);
    });

    it('exchanges a code for a web token with openid, scope and (for snsapi_userinfo) unionid', async () => {
      const user = sim.addUser({ openid: 'oAbCdE0000000000000000000001', nickname: '孙八', unionid: 'UNION1' });
      const userinfo = await exchange(await codeFor(user.openid, 'snsapi_userinfo'));
      assert.equal(userinfo.openid, user.openid);
      assert.equal(userinfo.scope, 'snsapi_userinfo');
      assert.equal(userinfo.unionid, 'UNION1');
      assert.equal(userinfo.expires_in, 7200);
      assert.equal(typeof userinfo.access_token, 'string');
      assert.equal(typeof userinfo.refresh_token, 'string');
      assert.equal('is_snapshotuser' in userinfo, false);
      const base = await exchange(await codeFor(user.openid, 'snsapi_base'));
      assert.equal(base.scope, 'snsapi_base');
      assert.equal('unionid' in base, false);
    });

    it('answers 40163 when a code is used twice', async () => {
      const code = await codeFor(sim.createUser('u').openid, 'snsapi_base');
      assert.equal(typeof (await exchange(code)).access_token, 'string');
      assert.deepEqual(await exchange(code), { errcode: 40163, errmsg: 'code been used' });
    });

    it('answers 40029 for a code older than 5 minutes and for an unknown code', async () => {
      const code = await codeFor(sim.createUser('u').openid, 'snsapi_base');
      clock.advance(5 * MINUTE);
      assert.deepEqual(await exchange(code), { errcode: 40029, errmsg: 'invalid code' });
      assert.deepEqual(await exchange('0'.repeat(32)), { errcode: 40029, errmsg: 'invalid code' });
    });

    it('checks appid (40013) and secret (40125) before using the code', async () => {
      const code = await codeFor(sim.createUser('u').openid, 'snsapi_base');
      assert.equal((await exchange(code, { appid: 'wxother' })).errcode, 40013);
      assert.equal((await exchange(code, { secret: 'nope' })).errcode, 40125);
      assert.equal(typeof (await exchange(code)).access_token, 'string', 'the failed attempts did not use the code');
    });

    it('refreshes a web token for the same user and answers 40030 for a bad refresh_token', async () => {
      const user = sim.createUser('u');
      const grant = await exchange(await codeFor(user.openid, 'snsapi_userinfo'));
      const refresh = async (refreshToken: string): Promise<Record<string, unknown>> =>
        (
          await http()
            .get('/sns/oauth2/refresh_token')
            .query({ appid: APP_ID, grant_type: 'refresh_token', refresh_token: refreshToken })
        ).body as Record<string, unknown>;
      const refreshed = await refresh(grant.refresh_token as string);
      assert.equal(refreshed.openid, user.openid);
      assert.equal(refreshed.scope, 'snsapi_userinfo');
      assert.notEqual(refreshed.access_token, grant.access_token);
      assert.equal((await refresh('bogus')).errcode, 40030);
    });

    it('serves userinfo for snsapi_userinfo tokens, 48001 for snsapi_base ones and 40001 for bad tokens', async () => {
      const user = sim.addUser({ openid: 'oAbCdE0000000000000000000002', nickname: '周九', unionid: 'UNION2' });
      const full = await exchange(await codeFor(user.openid, 'snsapi_userinfo'));
      const info = await http()
        .get('/sns/userinfo')
        .query({ access_token: full.access_token as string, openid: user.openid, lang: 'zh_CN' });
      assert.deepEqual(info.body, {
        openid: user.openid,
        nickname: '周九',
        sex: 0,
        province: '',
        city: '',
        country: '',
        headimgurl: '',
        privilege: [],
        unionid: 'UNION2',
      });
      const base = await exchange(await codeFor(user.openid, 'snsapi_base'));
      const denied = await http()
        .get('/sns/userinfo')
        .query({ access_token: base.access_token as string, openid: user.openid });
      assert.deepEqual(denied.body, { errcode: 48001, errmsg: 'api unauthorized' });
      const bad = await http().get('/sns/userinfo').query({ access_token: 'bogus', openid: user.openid });
      assert.equal(bad.body.errcode, 40001);
    });

    it('answers /sns/auth with ok for the token owner and 40003 for another openid', async () => {
      const user = sim.createUser('u');
      const grant = await exchange(await codeFor(user.openid, 'snsapi_base'));
      const check = async (openid: string): Promise<unknown> =>
        (
          await http()
            .get('/sns/auth')
            .query({ access_token: grant.access_token as string, openid })
        ).body;
      assert.deepEqual(await check(user.openid), { errcode: 0, errmsg: 'ok' });
      assert.deepEqual(await check(sim.createUser('other').openid), { errcode: 40003, errmsg: 'invalid openid' });
    });
  });

  describe('fault injection', () => {
    const tokenQuery = { grant_type: 'client_credential', appid: APP_ID, secret: APP_SECRET };

    it('answers the next matching requests with the injected WeChat error, then normally', async () => {
      sim.failNext('/cgi-bin/token', { errcode: -1, errmsg: 'system error' }, 2);
      assert.deepEqual((await http().get('/cgi-bin/token').query(tokenQuery)).body, {
        errcode: -1,
        errmsg: 'system error',
      });
      assert.equal((await http().get('/cgi-bin/token').query(tokenQuery)).body.errcode, -1);
      assert.equal(typeof (await http().get('/cgi-bin/token').query(tokenQuery)).body.access_token, 'string');
      assert.equal(sim.tokenFetches(), 1);
    });

    it('answers with an HTTP status and "Internal Server Error"', async () => {
      sim.failNext('/token', { status: 503 });
      const res = await http().get('/cgi-bin/token').query(tokenQuery);
      assert.equal(res.status, 503);
      assert.equal(res.text, 'Internal Server Error');
    });

    it('holds the response for hangMs before answering normally', async () => {
      sim.failNext('/cgi-bin/token', { hangMs: 60 });
      const started = Date.now();
      const res = await http().get('/cgi-bin/token').query(tokenQuery);
      assert.ok(Date.now() - started >= 55, `answered after ${Date.now() - started} ms`);
      assert.equal(typeof res.body.access_token, 'string');
    });

    it('only affects paths with the given suffix, and resetFaults drops pending faults', async () => {
      sim.failNext('/menu/create', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
      assert.equal(typeof (await http().get('/cgi-bin/token').query(tokenQuery)).body.access_token, 'string');
      sim.resetFaults();
      const token = await fetchToken();
      const res = await http()
        .post('/cgi-bin/menu/create')
        .query({ access_token: token })
        .send({ button: [{ type: 'click', name: 'a', key: 'K' }] });
      assert.deepEqual(res.body, { errcode: 0, errmsg: 'ok' });
    });
  });

  describe('inspection and reset', () => {
    it('logs every request with its path and the clock time, faulted ones included', async () => {
      sim.failNext('/cgi-bin/menu/get', { status: 500 });
      await http().get('/cgi-bin/menu/get').query({ access_token: 'x' });
      clock.advance(1_000);
      await http().get('/cgi-bin/token').query({ grant_type: 'client_credential', appid: APP_ID, secret: APP_SECRET });
      assert.deepEqual(
        sim.calls.map(({ path, at }) => ({ path, at })),
        [
          { path: '/cgi-bin/menu/get', at: clock.now() - 1_000 },
          { path: '/cgi-bin/token', at: clock.now() },
        ],
      );
    });

    it('creates users with realistic openids and lists them', () => {
      const a = sim.createUser('甲', { unionid: 'U1' });
      const b = sim.createUser('乙');
      assert.match(a.openid, /^o[A-Za-z0-9_-]{27}$/);
      assert.equal(a.openid.slice(0, 6), b.openid.slice(0, 6), 'openids of one account share a prefix');
      assert.notEqual(a.openid, b.openid);
      assert.deepEqual(sim.users(), [a, b]);
      assert.equal(a.unionid, 'U1');
    });

    it('reset clears users, tokens, codes, menu, outbox, calls and faults', async () => {
      const user = sim.createUser('u');
      const token = await fetchToken();
      await http()
        .post('/cgi-bin/menu/create')
        .query({ access_token: token })
        .send({ button: [{ type: 'click', name: 'a', key: 'K' }] });
      await http()
        .post('/cgi-bin/message/custom/send')
        .query({ access_token: token })
        .send({ touser: user.openid, msgtype: 'text', text: { content: 'x' } });
      sim.failNext('/cgi-bin/token', { status: 500 });
      sim.reset();
      assert.deepEqual(
        [sim.users(), sim.outbox, sim.calls, sim.menu, sim.tokenFetches(), sim.qrCodes()],
        [[], [], [], null, 0, []],
      );
      assert.equal(await errcodeWith(token), 40014);
      assert.ok(await fetchToken(), 'the fault was dropped');
    });
  });
});
