import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ManualClock } from '../../../src/clock/Clock';
import { createLogger } from '../../../src/logging/createLogger';
import { WeChatSimulator } from '../../../src/sandbox/simulator/WeChatSimulator';
import { createRedis, type Redis } from '../../../src/store/createRedis';
import { RedisKeys } from '../../../src/store/RedisKeys';
import { AccessTokens } from '../../../src/wechat/api/AccessTokens';
import { RedisAccessTokenStore } from '../../../src/wechat/api/RedisAccessTokenStore';
import { WeChatApiClient } from '../../../src/wechat/api/WeChatApiClient';
import { WeChatApiError, WeChatUnavailableError } from '../../../src/wechat/api/WeChatApiError';
import { WeChatHttp } from '../../../src/wechat/api/WeChatHttp';
import { listen } from '../../support/testApp';
import { testRun } from '../../support/testEnv';

const APP_ID = 'wx0123456789abcdef';
const APP_SECRET = 'secret0123456789secret0123456789';
const MP_BASE = 'https://mp.weixin.example.test';

const logger = createLogger('silent');

const MENU = {
  button: [
    { type: 'click', name: '办税指南', key: 'GUIDE' },
    {
      name: '我的',
      sub_button: [
        { type: 'view', name: '实名绑定', url: 'https://etax.example.test/h5/bind' },
        { type: 'click', name: '微信解绑', key: 'UNBIND' },
      ],
    },
  ],
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** One service instance: its own Redis connection, HTTP client, token cache and API client. */
interface Instance {
  redis: Redis;
  store: RedisAccessTokenStore;
  tokens: AccessTokens;
  client: WeChatApiClient;
}

describe('wechat/api/WeChatApiClient', () => {
  let clock: ManualClock;
  let sim: WeChatSimulator;
  let simUrl: string;
  let keys: RedisKeys;
  const cleanups: (() => Promise<unknown>)[] = [];

  /** Serves `handler` on a loopback port until the end of the test. */
  async function serve(handler: Handler): Promise<string> {
    const server = await listen({ callback: () => handler });
    cleanups.push(() => server.close());
    return server.url;
  }

  async function startInstance(
    options: { apiBase?: string; mpBase?: string; timeoutMs?: number } = {},
  ): Promise<Instance> {
    const redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
    cleanups.push(() => (redis.isOpen ? redis.close() : Promise.resolve()));
    const http = new WeChatHttp(options.timeoutMs ?? 3000);
    const apiBase = options.apiBase ?? simUrl;
    const store = new RedisAccessTokenStore(redis, keys);
    const tokens = new AccessTokens({ http, apiBase, appId: APP_ID, appSecret: APP_SECRET, store, clock, logger });
    const client = new WeChatApiClient({ http, tokens, apiBase, mpBase: options.mpBase ?? MP_BASE });
    return { redis, store, tokens, client };
  }

  function requestsTo(path: string): number {
    return sim.calls.filter((call) => call.path === path).length;
  }

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 15, 2, 0, 0));
    sim = new WeChatSimulator({ appId: APP_ID, appSecret: APP_SECRET, clock });
    const server = await listen(sim.app);
    cleanups.push(() => server.close());
    simUrl = server.url;
    keys = new RedisKeys(`${testRun.redisPrefix}wechat-api-${randomBytes(6).toString('hex')}:`);
  });

  afterEach(async () => {
    const pending = cleanups.splice(0).reverse();
    for (const cleanup of pending) await cleanup();
  });

  describe('stale access tokens', () => {
    it('refreshes the token once and retries once when WeChat answers 40001, and the retry succeeds', async () => {
      const { client } = await startInstance();
      await client.createMenu(MENU);
      sim.invalidateAccessTokens();
      const fetchesBefore = sim.tokenFetches();
      const getsBefore = requestsTo('/cgi-bin/menu/get');

      const menu = await client.getMenu();

      assert.ok(menu, 'the retried call returned the menu');
      assert.equal(sim.tokenFetches() - fetchesBefore, 1);
      assert.equal(requestsTo('/cgi-bin/menu/get') - getsBefore, 2);
    });

    it('refreshes the token once and retries once when WeChat answers 42001 (expired), and the retry succeeds', async () => {
      const { client } = await startInstance();
      const user = sim.createUser('张三');
      await client.sendCustomText(user.openid, 'first');
      sim.expireAccessTokens();
      const fetchesBefore = sim.tokenFetches();

      await client.sendCustomText(user.openid, 'second');

      assert.equal(sim.tokenFetches() - fetchesBefore, 1);
      assert.equal(requestsTo('/cgi-bin/message/custom/send'), 3);
      assert.deepEqual(
        sim.outbox.map((message) => (message.body as { text: { content: string } }).text.content),
        ['first', 'second'],
      );
    });

    it('refreshes and retries once when WeChat answers 40014 for a token it never issued', async () => {
      const { client, store } = await startInstance();
      const now = clock.now();
      await store.set(
        { token: 'not-a-token-wechat-issued', expiresAt: now + 7200_000, refreshAt: now + 6900_000 },
        7200_000,
      );

      await client.deleteMenu();

      assert.equal(sim.tokenFetches(), 1);
      assert.equal(requestsTo('/cgi-bin/menu/delete'), 2);
      assert.notEqual((await store.get())?.token, 'not-a-token-wechat-issued');
    });

    it('fails with WeChatApiError 40001 after exactly one retry when WeChat keeps answering 40001 — no loop', async () => {
      const { client } = await startInstance();
      await client.createMenu(MENU);
      const fetchesBefore = sim.tokenFetches();
      sim.failNext(
        '/cgi-bin/menu/get',
        { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' },
        5,
      );

      await assert.rejects(client.getMenu(), (error: unknown) => {
        assert.ok(error instanceof WeChatApiError);
        assert.equal(error.errcode, 40001);
        assert.equal(error.errmsg, 'invalid credential, access_token is invalid or not latest');
        return true;
      });
      assert.equal(requestsTo('/cgi-bin/menu/get'), 2);
      assert.equal(sim.tokenFetches() - fetchesBefore, 1);
    });

    it('costs one token fetch in all when 4 instances × 25 concurrent calls all meet an invalidated token', async () => {
      const instances = await Promise.all(Array.from({ length: 4 }, () => startInstance()));
      await instances[0]!.client.createMenu(MENU);
      sim.invalidateAccessTokens();

      const menus = await Promise.all(
        instances.flatMap((instance) => Array.from({ length: 25 }, () => instance.client.getMenu())),
      );

      assert.equal(menus.length, 100);
      assert.ok(menus.every((menu) => menu !== null));
      assert.equal(sim.tokenFetches(), 2);
    });
  });

  describe('errors', () => {
    it("carries errcode, errmsg and the meaning of WeChat's error, without retrying (45009 on qrcode/create)", async () => {
      const { client } = await startInstance();
      sim.failNext('/cgi-bin/qrcode/create', { errcode: 45009, errmsg: 'reach max api daily quota limit' });

      await assert.rejects(client.createTemporaryQrCode('login_quota', 300), (error: unknown) => {
        assert.ok(error instanceof WeChatApiError);
        assert.equal(error.errcode, 45009);
        assert.equal(error.errmsg, 'reach max api daily quota limit');
        assert.equal(error.meaning, 'daily API quota reached');
        assert.equal(error.api, 'qrcode/create');
        assert.match(error.message, /45009/);
        return true;
      });
      assert.equal(requestsTo('/cgi-bin/qrcode/create'), 1);
      assert.equal(sim.tokenFetches(), 1);
    });

    it('reports an HTTP 500 as WeChatUnavailableError, without retrying', async () => {
      const { client } = await startInstance();
      sim.failNext('/cgi-bin/qrcode/create', { status: 500 });

      await assert.rejects(client.createTemporaryQrCode('login_500', 300), (error: unknown) => {
        assert.ok(error instanceof WeChatUnavailableError);
        assert.equal(error.api, 'qrcode/create');
        assert.match(error.reason, /500/);
        return true;
      });
      assert.equal(requestsTo('/cgi-bin/qrcode/create'), 1);
    });

    it('gives up with WeChatUnavailableError at the client timeout when WeChat hangs, long before WeChat answers', async () => {
      const { client, tokens } = await startInstance({ timeoutMs: 200 });
      await tokens.get();
      sim.failNext('/cgi-bin/qrcode/create', { hangMs: 1000 });

      const startedAt = Date.now();
      await assert.rejects(client.createTemporaryQrCode('login_hang', 300), (error: unknown) => {
        assert.ok(error instanceof WeChatUnavailableError);
        assert.match(error.reason, /200 ms/);
        return true;
      });
      const elapsed = Date.now() - startedAt;
      assert.ok(elapsed < 800, `gave up after ${elapsed} ms`);
    });

    it('reports an answer that is not JSON as WeChatUnavailableError', async () => {
      const simHandler = sim.app.callback();
      const apiBase = await serve((req, res) => {
        if (req.url?.startsWith('/cgi-bin/menu/get')) {
          // What a captive portal or an overloaded gateway hands back.
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end('<html><body>系统繁忙</body></html>');
          return;
        }
        void simHandler(req, res);
      });
      const { client } = await startInstance({ apiBase });

      await assert.rejects(client.getMenu(), (error: unknown) => {
        assert.ok(error instanceof WeChatUnavailableError);
        assert.equal(error.api, 'menu/get');
        assert.match(error.reason, /not JSON/);
        return true;
      });
    });

    it('reports a refused connection as WeChatUnavailableError', async () => {
      const closed = await listen({ callback: () => () => undefined });
      await closed.close();
      const { client } = await startInstance({ apiBase: closed.url });

      await assert.rejects(client.getMenu(), WeChatUnavailableError);
    });
  });

  describe('base URLs', () => {
    it('calls the API under whatever apiBase it was given, path prefix included', async () => {
      const simHandler = sim.app.callback();
      const seen: string[] = [];
      const apiBase = await serve((req, res) => {
        seen.push(req.url ?? '');
        req.url = (req.url ?? '').replace(/^\/wx-gateway/, '');
        void simHandler(req, res);
      });
      const { client } = await startInstance({ apiBase: `${apiBase}/wx-gateway` });

      await client.deleteMenu();

      assert.deepEqual(
        seen.map((url) => url.split('?')[0]),
        ['/wx-gateway/cgi-bin/stable_token', '/wx-gateway/cgi-bin/menu/delete'],
      );
      assert.deepEqual(
        sim.calls.map((call) => call.path),
        ['/cgi-bin/stable_token', '/cgi-bin/menu/delete'],
      );
    });

    it('builds the QR image URL on mpBase with the ticket URL-encoded (+ / =)', async () => {
      const { client } = await startInstance({ mpBase: MP_BASE });
      const ticket = 'gQH+8DoAAAAAAAAAASxodHRw/Oi8vd2VpeGluLnFxLmNvbS9xLzAy==';

      const url = client.qrCodeImageUrl(ticket);

      assert.equal(
        url,
        `${MP_BASE}/cgi-bin/showqrcode?ticket=gQH%2B8DoAAAAAAAAAASxodHRw%2FOi8vd2VpeGluLnFxLmNvbS9xLzAy%3D%3D`,
      );
      assert.equal(new URL(url).searchParams.get('ticket'), ticket);
    });

    it("gives an image URL that WeChat's image host serves for a real ticket", async () => {
      const { client } = await startInstance({ mpBase: simUrl });
      const qr = await client.createTemporaryQrCode('login_image', 300);
      assert.match(qr.ticket, /[+/=]/);

      const response = await fetch(client.qrCodeImageUrl(qr.ticket));

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/png');
      await response.arrayBuffer();
    });
  });

  describe('the APIs', () => {
    it('creates a temporary QR code with QR_STR_SCENE, the scene string and the expire_seconds asked', async () => {
      const { client } = await startInstance();

      const qr = await client.createTemporaryQrCode('login_4f1c2a', 600);

      assert.equal(qr.expireSeconds, 600);
      const created = sim.qrByTicket(qr.ticket);
      assert.ok(created, 'the simulator knows the ticket');
      assert.equal(created.sceneStr, 'login_4f1c2a');
      assert.equal(created.sceneId, undefined);
      assert.equal(created.permanent, false);
      assert.equal(created.expiresAt, clock.now() + 600_000);
      assert.equal(qr.url, created.url);
    });

    it('sends a 客服 text message that lands in the outbox', async () => {
      const { client } = await startInstance();
      const user = sim.createUser('李四');

      await client.sendCustomText(user.openid, '您的实名绑定已完成。');

      assert.equal(sim.outbox.length, 1);
      const [message] = sim.outbox;
      assert.equal(message!.kind, 'custom');
      assert.equal(message!.touser, user.openid);
      assert.deepEqual(message!.body, {
        touser: user.openid,
        msgtype: 'text',
        text: { content: '您的实名绑定已完成。' },
      });
    });

    it('sends a template message and returns its msgid as a string', async () => {
      const { client } = await startInstance();
      const user = sim.createUser('王五');

      const msgid = await client.sendTemplate({
        touser: user.openid,
        template_id: 'tmpl-binding-done',
        data: { first: { value: '绑定成功' } },
      });

      assert.equal(sim.outbox.length, 1);
      assert.equal(sim.outbox[0]!.kind, 'template');
      assert.equal(msgid, String(sim.outbox[0]!.msgid));
    });

    it('returns null from getMenu when there is no menu (46003)', async () => {
      const { client } = await startInstance();

      assert.equal(await client.getMenu(), null);
      assert.equal(requestsTo('/cgi-bin/menu/get'), 1);
    });

    it('round-trips a menu through createMenu, getMenu and deleteMenu', async () => {
      const { client } = await startInstance();

      await client.createMenu(MENU);
      const menu = (await client.getMenu()) as { button: unknown[]; menuid: unknown };

      assert.deepEqual(menu.button, [
        { type: 'click', name: '办税指南', key: 'GUIDE', sub_button: [] },
        {
          name: '我的',
          sub_button: [
            { type: 'view', name: '实名绑定', url: 'https://etax.example.test/h5/bind', sub_button: [] },
            { type: 'click', name: '微信解绑', key: 'UNBIND', sub_button: [] },
          ],
        },
      ]);
      assert.equal(typeof menu.menuid, 'number');
      assert.deepEqual(sim.menu, MENU);

      await client.deleteMenu();

      assert.equal(await client.getMenu(), null);
      assert.equal(sim.menu, null);
      assert.equal(sim.tokenFetches(), 1);
    });

    it('passes a menu error through as WeChatApiError (a fourth top-level button → 40016)', async () => {
      const { client } = await startInstance();
      const tooMany = { button: [1, 2, 3, 4].map((i) => ({ type: 'click', name: `b${i}`, key: `K${i}` })) };

      await assert.rejects(client.createMenu(tooMany), (error: unknown) => {
        assert.ok(error instanceof WeChatApiError);
        assert.equal(error.errcode, 40016);
        assert.equal(error.api, 'menu/create');
        return true;
      });
    });
  });
});
