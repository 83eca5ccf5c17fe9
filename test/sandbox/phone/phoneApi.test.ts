import assert from 'node:assert/strict';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { SIMULATED_USER_COOKIE } from '../../../src/sandbox/simulator/WeChatSimulator';
import { textSegments } from '../../../src/sandbox/phone/textSegments';
import { createTestApp, resetState, startLiveApp, type TestApp } from '../../support/testApp';
import { testEnvironment } from '../../support/testEnv';

const env = testEnvironment();
const API = '/sandbox/phone/api';

interface ChatLine {
  id: string;
  at: string;
  from: 'user' | 'account' | 'system';
  source: string;
  segments: { text: string; href?: string }[];
  card?: { title: string; description: string; url: string | null };
}

const textOf = (line: Pick<ChatLine, 'segments'>): string => line.segments.map((segment) => segment.text).join('');

describe('sandbox/phone: the phone API (SANDBOX=1)', () => {
  let live: TestApp & { url: string };
  let phone: TestAgent;

  before(async () => {
    live = await startLiveApp();
    await resetState(live.deps);
  });
  after(() => live?.close());
  beforeEach(() => {
    phone = request.agent(live.url);
  });

  async function newUser(nickname: string): Promise<string> {
    const res = await phone.post(`${API}/users`).send({ nickname });
    assert.equal(res.status, 201, res.text);
    return res.body.user.openid as string;
  }

  async function newFollower(nickname: string): Promise<string> {
    const openid = await newUser(nickname);
    assert.equal((await phone.post(`${API}/follow`).send({ openid })).status, 200);
    return openid;
  }

  async function loginTicket(): Promise<{ ticketId: string; scene: string; ticket: string }> {
    const res = await request(live.url)
      .post('/api/login/tickets')
      .set('Authorization', `Bearer ${env.PORTAL_API_KEYS}`)
      .send({});
    assert.equal(res.status, 201, res.text);
    const code = live.deps.simulator!.qrByUrl(res.body.qrContent as string)!;
    return { ticketId: res.body.ticketId as string, scene: code.sceneStr!, ticket: code.ticket };
  }

  async function chat(openid: string): Promise<ChatLine[]> {
    const res = await phone.get(`${API}/chat`).query({ openid });
    assert.equal(res.status, 200, res.text);
    return res.body.messages as ChatLine[];
  }

  describe('users', () => {
    it('creates a simulator user, hands the phone to it through the wxsim_openid cookie, and lists it', async () => {
      const res = await phone.post(`${API}/users`).send({ nickname: ' 林小税 ' });
      assert.equal(res.status, 201);
      const { user } = res.body;
      assert.equal(user.nickname, '林小税');
      assert.match(user.openid, /^o[A-Za-z0-9_-]{27}$/);
      assert.equal(user.following, false);
      assert.ok(live.deps.simulator!.users().some((known) => known.openid === user.openid));
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
        c.startsWith(`${SIMULATED_USER_COOKIE}=`),
      )!;
      assert.match(cookie, new RegExp(`^${SIMULATED_USER_COOKIE}=${user.openid}; path=/;`));
      assert.match(cookie, /httponly/i);

      const list = await phone.get(`${API}/users`);
      assert.equal(list.status, 200);
      assert.equal(list.body.currentOpenid, user.openid);
      assert.ok(list.body.users.some((listed: { openid: string }) => listed.openid === user.openid));
    });

    it('switches to another user, dropping the H5 session of the one before', async () => {
      const first = await newUser('甲');
      const second = await newUser('乙');
      const res = await phone
        .put(`${API}/current-user`)
        .set('Cookie', `${SIMULATED_USER_COOKIE}=${second}; etax_h5=old-session`)
        .send({ openid: first });
      assert.equal(res.status, 200);
      const cookies = res.headers['set-cookie'] as unknown as string[];
      assert.ok(cookies.some((c) => c.startsWith(`${SIMULATED_USER_COOKIE}=${first};`)));
      assert.ok(
        cookies.some((c) => /^etax_h5=;.*expires=Thu, 01 Jan 1970/i.test(c)),
        cookies.join('\n'),
      );

      const same = await phone
        .put(`${API}/current-user`)
        .set('Cookie', `${SIMULATED_USER_COOKIE}=${first}`)
        .send({ openid: first });
      assert.ok(
        !(same.headers['set-cookie'] as unknown as string[]).some((c) => c.startsWith('etax_h5=')),
        'the same user keeps its H5 session',
      );
    });

    it('answers 404 for a user the simulator does not know', async () => {
      const res = await phone.put(`${API}/current-user`).send({ openid: 'oUnknownUser000000000000000' });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'unknown_user');
    });
  });

  describe('following and messages', () => {
    it('refuses messages before the follow, as the WeChat client does (409, no push)', async () => {
      const openid = await newUser('未关注');
      const res = await phone.post(`${API}/messages`).send({ openid, text: '你好' });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, 'not_following');
      assert.deepEqual(await chat(openid), []);
    });

    it('关注 sends subscribe and shows the welcome; a second 关注 is refused', async () => {
      const openid = await newUser('关注者');
      const res = await phone.post(`${API}/follow`).send({ openid });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.push, { msgType: 'event', event: 'subscribe', eventKey: '' });
      assert.equal(res.body.following, true);
      assert.equal(res.body.reply.from, 'account');
      assert.ok(textOf(res.body.reply).startsWith('欢迎关注"福建税务"'));
      assert.ok(
        res.body.reply.segments.some(
          (s: { text: string; href?: string }) => s.text === '实名绑定' && s.href === `${live.url}/h5/bind`,
        ),
      );
      const again = await phone.post(`${API}/follow`).send({ openid });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'already_following');
    });

    it('sends a text message and shows the passive reply after it, in time order', async () => {
      const openid = await newFollower('发消息');
      const res = await phone.post(`${API}/messages`).send({ openid, text: '你好' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.push, { msgType: 'text' });
      assert.equal(textOf(res.body.reply), live.deps.templates.render('help'));
      const lines = await chat(openid);
      const mine = lines.findIndex((line) => line.from === 'user' && textOf(line) === '你好');
      assert.ok(mine >= 0);
      assert.equal(lines[mine + 1]!.id, res.body.reply.id);
      const times = lines.map((line) => Date.parse(line.at));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
      );
    });

    it('取消关注 sends unsubscribe, which gets no reply, and the user no longer follows', async () => {
      const openid = await newFollower('取关');
      const res = await phone.post(`${API}/unfollow`).send({ openid });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.push, { msgType: 'event', event: 'unsubscribe', eventKey: '' });
      assert.equal(res.body.reply, null);
      assert.equal(res.body.following, false);
      assert.equal((await phone.post(`${API}/unfollow`).send({ openid })).body.error.code, 'not_following');
    });

    it('shows the 客服 messages the account sent to this user, with their links, and only to this user', async () => {
      const openid = await newFollower('客服');
      const other = await newUser('别人');
      await live.deps.wechatApi.sendCustomText(openid, `绑定成功，<a href="${live.url}/h5/bind">查看</a>`);
      await live.deps.wechatApi.sendCustomText(other, '不是给你的');
      const lines = await chat(openid);
      const custom = lines.filter((line) => line.source === 'custom');
      assert.equal(custom.length, 1);
      assert.deepEqual(custom[0]!.segments, [{ text: '绑定成功，' }, { text: '查看', href: `${live.url}/h5/bind` }]);
      assert.equal(lines.at(-1)!.id, custom[0]!.id, 'sent after the welcome, so shown after it');
    });
  });

  describe('the menu', () => {
    it('a click button sends CLICK with its key and shows the click reply', async () => {
      const openid = await newFollower('点菜单');
      const res = await phone.post(`${API}/menu-clicks`).send({ openid, key: 'LOGIN_HELP' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.push, { msgType: 'event', event: 'CLICK', eventKey: 'LOGIN_HELP' });
      assert.deepEqual(res.body.reply.segments, textSegments(live.deps.templates.render('click/LOGIN_HELP')));
    });

    it('a view button sends VIEW with its URL; the account answers nothing', async () => {
      const openid = await newFollower('打开网页');
      const res = await phone.post(`${API}/menu-views`).send({ openid, url: `${live.url}/h5/bind` });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.push, { msgType: 'event', event: 'VIEW', eventKey: `${live.url}/h5/bind` });
      assert.equal(res.body.reply, null);
    });

    it('refuses a key or a URL that is not in menus/menu.json (400)', async () => {
      const openid = await newFollower('乱点');
      const click = await phone.post(`${API}/menu-clicks`).send({ openid, key: 'NOT_IN_MENU' });
      assert.equal(click.status, 400);
      assert.equal(click.body.error.code, 'unknown_menu_key');
      const view = await phone.post(`${API}/menu-views`).send({ openid, url: 'https://example.com/' });
      assert.equal(view.status, 400);
      assert.equal(view.body.error.code, 'unknown_menu_url');
    });
  });

  describe('扫一扫', () => {
    it('a non-follower scanning the newest login QR sends subscribe with qrscene_ and then follows; a follower sends SCAN', async () => {
      const openid = await newUser('扫码新用户');
      const { ticketId, scene, ticket } = await loginTicket();
      const listed = await phone.get(`${API}/qr-codes`);
      assert.equal(listed.body.qrCodes[0].ticket, ticket, 'the newest QR comes first');

      const first = await phone.post(`${API}/scans`).send({ openid });
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(first.body.push, { msgType: 'event', event: 'subscribe', eventKey: `qrscene_${scene}` });
      assert.equal(first.body.following, true);
      assert.match(textOf(first.body.reply), /尚未绑定/);
      assert.match(textOf(first.body.reply), /欢迎关注/);
      const status = await request(live.url).get(`/api/login/tickets/${ticketId}`);
      assert.equal(status.body.status, 'needs_binding');

      const second = await phone.post(`${API}/scans`).send({ openid, ticket });
      assert.equal(second.status, 200, second.text);
      assert.deepEqual(second.body.push, { msgType: 'event', event: 'SCAN', eventKey: scene });
      assert.match(textOf(second.body.reply), /尚未绑定/);
      assert.doesNotMatch(textOf(second.body.reply), /欢迎关注/);
    });

    it('answers 404 when no login QR is live (the simulator forgot them all)', async () => {
      // Resetting the simulator is safe here: every test makes its own users.
      live.deps.simulator!.reset();
      const openid = await newUser('没码可扫');
      const res = await phone.post(`${API}/scans`).send({ openid });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'no_qr_code');
      assert.deepEqual((await phone.get(`${API}/qr-codes`)).body, { qrCodes: [] });
    });

    it('answers 404 for a ticket that is unknown or expired', async () => {
      const openid = await newUser('扫错码');
      const res = await phone.post(`${API}/scans`).send({ openid, ticket: 'gQNotATicket==' });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'qr_code_expired');
    });
  });

  describe('the SMS inbox', () => {
    it('shows the codes sent to the phone number', async () => {
      await live.deps.smsCodes.send({
        phone: '13911112222',
        purpose: 'bind',
        ip: '127.0.0.1',
        requester: 'o-sms-tester',
      });
      const res = await phone.get(`${API}/sms`).query({ phone: '13911112222' });
      assert.equal(res.status, 200);
      assert.equal(res.body.messages.length, 1);
      assert.match(res.body.messages[0].code, /^\d{6}$/);
      assert.ok(res.body.messages[0].text.includes(res.body.messages[0].code));
      assert.deepEqual((await phone.get(`${API}/sms`).query({ phone: '13911113333' })).body, { messages: [] });
    });

    it('answers 400 for a malformed phone number', async () => {
      const res = await phone.get(`${API}/sms`).query({ phone: '1391111' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_phone');
    });
  });

  describe('bad input', () => {
    const cases: [string, string, unknown][] = [
      ['a user without a nickname', '/users', {}],
      ['a nickname of blanks', '/users', { nickname: '   ' }],
      ['a nickname over 20 characters', '/users', { nickname: '长'.repeat(21) }],
      ['a message without text', '/messages', { openid: 'oAbc' }],
      ['a message with an unknown field', '/messages', { openid: 'oAbc', text: 'hi', extra: 1 }],
      ['an openid with a slash', '/follow', { openid: 'o/../x' }],
      ['a click without key', '/menu-clicks', { openid: 'oAbc' }],
      ['a scan with a numeric ticket', '/scans', { openid: 'oAbc', ticket: 7 }],
    ];
    for (const [label, path, body] of cases) {
      it(`answers 400 for ${label}`, async () => {
        const res = await phone.post(`${API}${path}`).send(body as object);
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.error.code, 'invalid_request');
      });
    }

    it('answers 400 for a body that is not JSON', async () => {
      const res = await phone.post(`${API}/users`).set('Content-Type', 'application/json').send('{nickname');
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_json');
    });

    it('answers 400 for a chat without openid', async () => {
      const res = await phone.get(`${API}/chat`);
      assert.equal(res.status, 400);
    });

    it('refuses a request a browser sent from another origin (403)', async () => {
      const res = await phone.post(`${API}/users`).set('Origin', 'https://evil.example').send({ nickname: '坏人' });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'foreign_origin');
    });
  });

  describe('the page', () => {
    it('serves the phone with the menu of menus/menu.json and a CSP without inline code', async () => {
      const res = await phone.get('/sandbox/phone');
      assert.equal(res.status, 200);
      assert.match(res.type, /html/);
      const csp = res.headers['content-security-policy'] as string;
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.doesNotMatch(res.text, /<script>|<style|style="|onclick=/i);
      for (const name of ['微办税', '实名绑定', '办税服务', '个人中心']) assert.ok(res.text.includes(name), name);
      assert.ok(res.text.includes(`data-url="${live.url}/h5/bind"`));
      assert.ok(res.text.includes('data-key="LOGIN_HELP"'));
    });

    it('serves its script and stylesheet locally', async () => {
      const js = await phone.get('/sandbox/phone/static/phone.js');
      assert.equal(js.status, 200);
      assert.match(js.type, /javascript/);
      const css = await phone.get('/sandbox/phone/static/phone.css');
      assert.equal(css.status, 200);
      assert.match(css.type, /css/);
    });
  });
});

describe('sandbox/phone: without an EncodingAESKey', () => {
  let live: TestApp & { url: string };
  before(async () => {
    live = await startLiveApp({ env: { WECHAT_ENCODING_AES_KEY: undefined } });
    await resetState(live.deps);
  });
  after(() => live?.close());

  it('pushes in plain mode and still gets the replies', async () => {
    const phone = request.agent(live.url);
    const { body } = await phone.post(`${API}/users`).send({ nickname: '明文' });
    const res = await phone.post(`${API}/follow`).send({ openid: body.user.openid });
    assert.equal(res.status, 200, res.text);
    assert.match(textOf(res.body.reply), /欢迎关注/);
  });
});

describe('sandbox/phone: with SANDBOX=0', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp({ env: { SANDBOX: '0' } });
  });
  after(() => app?.close());

  for (const path of ['/sandbox/phone', '/sandbox/phone/static/phone.js', `${API}/users`]) {
    it(`GET ${path} is a 404`, async () => {
      const res = await request(app.app.callback()).get(path);
      assert.equal(res.status, 404);
    });
  }

  it('POST to the API is a 404 too', async () => {
    const res = await request(app.app.callback()).post(`${API}/users`).send({ nickname: '无' });
    assert.equal(res.status, 404);
  });
});
