import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { AccountEntity } from '../../src/accounts/Account';
import { ManualClock } from '../../src/clock/Clock';
import { PushDriver, type SignedPush } from '../../src/sandbox/PushDriver';
import { text } from '../../src/wechat/Reply';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const TOKEN = env.WECHAT_TOKEN!;
const APPID = env.WECHAT_APPID!;
const AES_KEY = env.WECHAT_ENCODING_AES_KEY!;
const PREVIOUS_KEY = 'zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT';
const vectorsDir = path.resolve(__dirname, '../fixtures/wechat');

describe('wechat endpoint: GET|POST /wechat', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  let scanCalls: string[] = [];
  let scanReply: () => Promise<ReturnType<typeof text>>;

  const driver = (mode: 'plain' | 'compat' | 'safe' = 'plain', overrides: { appId?: string; key?: string } = {}) =>
    new PushDriver({
      token: TOKEN,
      appId: overrides.appId ?? APPID,
      encodingAesKey: overrides.key ?? AES_KEY,
      mode,
      clock,
    });
  const post = (push: SignedPush) =>
    request(t.app.callback()).post('/wechat').query(push.query).type('text/xml').send(push.body);
  const openid = () => `oTEST${randomUUID().replace(/-/g, '').slice(0, 23)}`;

  before(async () => {
    t = await createTestApp({
      clock,
      env: { WECHAT_ENCODING_AES_KEY_PREVIOUS: PREVIOUS_KEY },
      replyDeadlineMs: 200,
    });
    // A scene prefix of the test's own, to observe how often a scan changes state.
    t.deps.scenes.register('test_', async (scan) => {
      scanCalls.push(scan.scene);
      return scanReply();
    });
  });
  after(() => t.close());
  beforeEach(async () => {
    await resetState(t.deps);
    scanCalls = [];
    scanReply = () => Promise.resolve(text('scanned'));
  });

  describe('URL verification', () => {
    it('answers the official example with echostr verbatim', async () => {
      const vector = (
        JSON.parse(readFileSync(path.join(vectorsDir, 'crypto.json'), 'utf8')) as {
          plain_signature: { token: string; timestamp: string; nonce: string; echostr?: string; signature: string }[];
        }
      ).plain_signature[0]!;
      const vectorClock = new ManualClock(Number(vector.timestamp) * 1000);
      const official = await createTestApp({ clock: vectorClock, env: { WECHAT_TOKEN: vector.token } });
      try {
        const res = await request(official.app.callback()).get('/wechat').query({
          signature: vector.signature,
          timestamp: vector.timestamp,
          nonce: vector.nonce,
          echostr: vector.echostr!,
        });
        assert.equal(res.status, 200);
        assert.equal(res.text, vector.echostr);
      } finally {
        await official.close();
      }
    });

    it('echoes a plaintext echostr even when safe mode is configured', async () => {
      const query = driver('safe').verification('8012345678901234567');
      const res = await request(t.app.callback())
        .get('/wechat')
        .query({ ...query, encrypt_type: 'aes', msg_signature: 'x' });
      assert.equal(res.status, 200);
      assert.equal(res.text, '8012345678901234567');
    });

    it('refuses a bad signature with 401', async () => {
      const query = { ...driver().verification('123'), signature: '0'.repeat(40) };
      const res = await request(t.app.callback()).get('/wechat').query(query);
      assert.equal(res.status, 401);
      assert.notEqual(res.text, '123');
    });

    it('refuses a request without a signature with 401', async () => {
      const res = await request(t.app.callback()).get('/wechat').query({ echostr: '123' });
      assert.equal(res.status, 401);
    });
  });

  describe('replies', () => {
    it('answers a plain subscribe with the welcome text, CreateTime in seconds', async () => {
      const d = driver();
      const user = openid();
      const res = await post(d.sign(d.event(user, 'subscribe')));
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type']!, /xml/);
      const reply = await d.readReply(res.text);
      assert.equal(reply?.ToUserName, user);
      assert.equal(reply?.FromUserName, d.accountId);
      assert.equal(reply?.MsgType, 'text');
      assert.match(reply.Content!, /欢迎关注/);
      assert.equal(reply?.CreateTime, String(Math.floor(clock.now() / 1000)));
    });

    for (const mode of ['safe', 'compat'] as const) {
      it(`encrypts the reply to a ${mode}-mode push, TimeStamp in seconds`, async () => {
        const d = driver(mode);
        const res = await post(d.sign(d.event(openid(), 'subscribe')));
        assert.equal(res.status, 200);
        assert.match(res.text, /<Encrypt>/);
        assert.doesNotMatch(res.text, /欢迎/);
        const timestamp = /<TimeStamp>(?:<!\[CDATA\[)?(\d+)/.exec(res.text)?.[1];
        assert.equal(timestamp, String(Math.floor(clock.now() / 1000)));
        const reply = await d.readReply(res.text);
        assert.match(reply!.Content!, /欢迎关注/);
      });
    }

    it('decrypts with the previous EncodingAESKey during a rotation and replies under that key', async () => {
      const d = driver('safe', { key: PREVIOUS_KEY });
      const res = await post(d.sign(d.event(openid(), 'subscribe')));
      assert.equal(res.status, 200);
      const reply = await d.readReply(res.text);
      assert.match(reply!.Content!, /欢迎关注/);
      await assert.rejects(driver('safe').readReply(res.text));
    });

    it('keeps a user text containing ]]> inside its CDATA section', async () => {
      const d = driver();
      scanReply = () => Promise.resolve(text('before ]]><MsgType>news</MsgType> after'));
      const res = await post(d.sign(d.event(openid(), 'SCAN', 'test_cdata')));
      const reply = await d.readReply(res.text);
      assert.equal(reply?.Content, 'before ]]><MsgType>news</MsgType> after');
      assert.equal(reply?.MsgType, 'text');
    });
  });

  describe('refusals', () => {
    it('refuses a push with a bad signature with 401 and does nothing', async () => {
      const d = driver();
      const push = d.sign(d.event(openid(), 'SCAN', 'test_a'));
      push.query.signature = push.query.signature!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
      const res = await post(push);
      assert.equal(res.status, 401);
      assert.deepEqual(scanCalls, []);
    });

    for (const [label, offset] of [
      ['stale', -301],
      ['future', 301],
    ] as const) {
      it(`refuses a push with a ${label} timestamp with 401 and does nothing`, async () => {
        const d = driver();
        const timestamp = String(Math.floor(clock.now() / 1000) + offset);
        const res = await post(d.sign(d.event(openid(), 'SCAN', 'test_a'), timestamp));
        assert.equal(res.status, 401);
        assert.deepEqual(scanCalls, []);
      });
    }

    it('accepts a timestamp at the edge of the window', async () => {
      const d = driver();
      const res = await post(
        d.sign(d.event(openid(), 'SCAN', 'test_edge'), String(Math.floor(clock.now() / 1000) - 300)),
      );
      assert.equal(res.status, 200);
      assert.deepEqual(scanCalls, ['test_edge']);
    });

    it('refuses a safe-mode push with a bad msg_signature with 401', async () => {
      const d = driver('safe');
      const push = d.sign(d.event(openid(), 'SCAN', 'test_a'));
      push.query.msg_signature = '0'.repeat(40);
      assert.equal((await post(push)).status, 401);
      assert.deepEqual(scanCalls, []);
    });

    it('refuses a safe-mode push encrypted for another AppID with 401 and does nothing', async () => {
      const d = driver('safe', { appId: 'wx9999999999999999' });
      const res = await post(d.sign(d.event(openid(), 'SCAN', 'test_a')));
      assert.equal(res.status, 401);
      assert.match(res.text, /another AppID/);
      assert.deepEqual(scanCalls, []);
    });

    it('refuses a push encrypted under an unknown key with 401', async () => {
      const d = driver('safe', { key: 'Q'.repeat(43) });
      assert.equal((await post(d.sign(d.event(openid(), 'SCAN', 'test_a')))).status, 401);
    });

    it('answers 400 for a body that is not XML', async () => {
      const d = driver();
      const res = await post(d.sign('{"MsgType":"event"}'));
      assert.equal(res.status, 400);
      const broken = await post(d.sign('<xml><ToUserName>unclosed'));
      assert.equal(broken.status, 400);
    });

    it('answers 400 for XML without the push header fields', async () => {
      const d = driver();
      const res = await post(d.sign('<xml><MsgType>event</MsgType></xml>'));
      assert.equal(res.status, 400);
      assert.match(res.text, /FromUserName|ToUserName/);
    });

    it('ignores a crafted __proto__ element instead of taking fields from it', async () => {
      const d = driver();
      const body = `<xml><__proto__><ToUserName>x</ToUserName><FromUserName>y</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></__proto__></xml>`;
      const res = await post(d.sign(body));
      assert.equal(res.status, 400);
      assert.equal(({} as Record<string, unknown>).ToUserName, undefined);
    });

    it('answers 413 for a body over 64 KiB', async () => {
      const d = driver();
      const res = await post(d.sign(d.textMessage(openid(), 'x'.repeat(65 * 1024))));
      assert.equal(res.status, 413);
    });

    it('answers 400, not 500, for encrypt_type=aes when no EncodingAESKey is configured', async () => {
      const plainOnly = await createTestApp({ clock, env: { WECHAT_ENCODING_AES_KEY: '' } });
      try {
        const d = driver('safe');
        const push = d.sign(d.event(openid(), 'subscribe'));
        const res = await request(plainOnly.app.callback())
          .post('/wechat')
          .query(push.query)
          .type('text/xml')
          .send(push.body);
        assert.equal(res.status, 400);
        assert.match(res.text, /EncodingAESKey/);
      } finally {
        await plainOnly.close();
      }
    });

    it('answers 400 for an unknown encrypt_type', async () => {
      const d = driver();
      const push = d.sign(d.event(openid(), 'subscribe'));
      push.query.encrypt_type = 'des';
      assert.equal((await post(push)).status, 400);
    });

    it('answers 405 for other methods', async () => {
      const res = await request(t.app.callback()).put('/wechat').send('x');
      assert.equal(res.status, 405);
    });
  });

  describe('retried pushes', () => {
    it('handles three concurrent identical pushes once', async () => {
      const d = driver();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      scanReply = async () => {
        await gate;
        return text('scanned once');
      };
      const push = d.sign(d.event(openid(), 'SCAN', 'test_concurrent'));
      const retriesCounted = () => retriesCountedBy(t);
      const retriesBefore = await retriesCounted();
      // supertest sends on then(); start all three deliveries now.
      const pending = [post(push), post(push), post(push)].map((test) => test.then((res) => res));
      // The handler holds until all three deliveries are in flight: one handling, two told it is pending.
      await waitFor(() => scanCalls.length === 1);
      await waitFor(async () => (await retriesCounted()) === retriesBefore + 2);
      release();
      const replies = await Promise.all(pending);
      assert.deepEqual(scanCalls, ['test_concurrent']);
      const withText = replies.filter((r) => r.text.includes('scanned once'));
      assert.equal(withText.length, 1);
      assert.ok(replies.every((r) => r.status === 200));
      assert.equal(replies.filter((r) => r.text === 'success').length, 2);
    });

    it('answers sequential retries with the first reply and handles them once', async () => {
      const d = driver('safe');
      const push = d.sign(d.event(openid(), 'SCAN', 'test_sequential'));
      const first = await post(push);
      const second = await post(push);
      const third = await post(push);
      assert.deepEqual(scanCalls, ['test_sequential']);
      for (const res of [first, second, third]) assert.equal((await d.readReply(res.text))?.Content, 'scanned');
    });

    it('keeps two different events of one user in the same second apart', async () => {
      const d = driver();
      const user = openid();
      const createTime = d.nowSeconds();
      await post(d.sign(d.xml(user, { MsgType: 'event', Event: 'SCAN', EventKey: 'test_one' }, createTime)));
      await post(d.sign(d.xml(user, { MsgType: 'event', Event: 'SCAN', EventKey: 'test_two' }, createTime)));
      assert.deepEqual(scanCalls, ['test_one', 'test_two']);
    });

    it('deduplicates text messages by MsgId', async () => {
      const d = driver();
      const user = openid();
      const msgId = '9223372036854775807';
      const first = await post(d.sign(d.textMessage(user, '绑定', msgId)));
      const again = await post(
        d.sign(d.xml(user, { MsgType: 'text', Content: '绑定', MsgId: msgId }, String(Number(d.nowSeconds()) - 5))),
      );
      assert.equal(first.text, again.text);
      const third = await post(d.sign(d.textMessage(user, '绑定', '9223372036854775806')));
      assert.equal(third.status, 200);
      assert.match((await d.readReply(third.text))!.Content!, /实名绑定/);
    });

    it('apologises when handling fails and lets a retry try again', async () => {
      const d = driver();
      let failures = 1;
      scanReply = () => {
        if (failures-- > 0) return Promise.reject(new Error('database went away'));
        return Promise.resolve(text('recovered'));
      };
      const push = d.sign(d.event(openid(), 'SCAN', 'test_fail'));
      const first = await post(push);
      assert.equal(first.status, 200);
      assert.match((await d.readReply(first.text))!.Content!, /系统繁忙/);
      const retry = await post(push);
      assert.equal((await d.readReply(retry.text))?.Content, 'recovered');
      assert.equal(scanCalls.length, 2);
    });

    it('answers success when handling passes the reply deadline, and finishes in the background', async () => {
      const d = driver();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      scanReply = async () => {
        await gate;
        return text('late');
      };
      const push = d.sign(d.event(openid(), 'SCAN', 'test_slow'));
      const res = await post(push);
      assert.equal(res.text, 'success');
      release();
      await waitFor(async () => (await post(push)).text.includes('late'));
      assert.equal(scanCalls.length, 1);
    });
  });

  describe('event routing of the sample pushes', () => {
    const samples = readdirSync(path.join(vectorsDir, 'push')).filter((f) => f.endsWith('.xml'));
    const expectations: Record<string, RegExp | 'success'> = {
      'click.xml': /回复以下关键词/,
      'scan.xml': /二维码已过期，请刷新网页上的二维码/,
      'subscribe.xml': /欢迎关注/,
      'subscribe_qrscene.xml': /二维码已过期，请刷新网页上的二维码[\s\S]*欢迎关注/,
      'templatesendjobfinish.xml': 'success',
      'text.xml': /回复以下关键词/,
      'unsubscribe.xml': 'success',
      'view.xml': 'success',
    };

    it('has an expectation for every sample', () => {
      assert.deepEqual(samples.sort(), Object.keys(expectations).sort());
    });

    for (const sample of samples) {
      it(`parses and routes ${sample}`, async () => {
        const d = driver();
        const xml = readFileSync(path.join(vectorsDir, 'push', sample), 'utf8');
        const res = await post(d.sign(xml));
        assert.equal(res.status, 200);
        const expected = expectations[sample]!;
        if (expected === 'success') {
          assert.equal(res.text, 'success');
        } else {
          assert.match((await d.readReply(res.text))!.Content!, expected);
        }
      });
    }

    it('keeps the binding on unsubscribe and marks it unsubscribed; subscribe marks it again', async () => {
      const d = driver();
      const user = openid();
      const accountId = randomUUID();
      await t.deps.db.getRepository(AccountEntity).insert({
        id: accountId,
        loginName: 'u1',
        passwordHash: 'x',
        realName: '张三',
        idNumberEncrypted: 'e',
        idNumberIndex: 'i1',
        phoneEncrypted: 'p',
        phoneIndex: 'p1',
        createdAt: new Date(),
      });
      const bindings = t.deps.db.getRepository(WechatBindingEntity);
      await bindings.insert({
        id: randomUUID(),
        accountId,
        openid: user,
        unionid: null,
        nickname: 'n',
        subscribed: true,
        boundAt: new Date(),
      });
      await post(d.sign(d.event(user, 'unsubscribe')));
      assert.equal((await bindings.findOneByOrFail({ openid: user })).subscribed, false);
      clock.advance(1000);
      await post(d.sign(d.event(user, 'subscribe')));
      assert.equal((await bindings.findOneByOrFail({ openid: user })).subscribed, true);
    });

    it('answers menu clicks from their template and keywords from theirs', async () => {
      const d = driver();
      const click = await post(d.sign(d.event(openid(), 'CLICK', 'LOGIN_HELP')));
      assert.match((await d.readReply(click.text))!.Content!, /微信扫码登录使用说明/);
      for (const [word, pattern] of [
        ['解绑', /解除微信绑定/],
        ['注册', /实名注册/],
        ['登录', /扫码登录/],
        ['你好', /回复以下关键词/],
      ] as const) {
        const res = await post(d.sign(d.textMessage(openid(), word)));
        assert.match((await d.readReply(res.text))!.Content!, pattern);
      }
    });

    it('hands a subscribe with qrscene_ to the scene handler once', async () => {
      const d = driver();
      const res = await post(d.sign(d.event(openid(), 'subscribe', 'qrscene_test_new', { Ticket: 'T' })));
      assert.deepEqual(scanCalls, ['test_new']);
      assert.match((await d.readReply(res.text))!.Content!, /^scanned[\s\S]*欢迎关注/);
    });
  });
});

/** Pushes the endpoint counted as retries of a claimed one, over every MsgType (its metric). */
async function retriesCountedBy(t: TestApp): Promise<number> {
  const { values } = await t.deps.metrics.registry.getSingleMetric('etax_wechat_push_events_total')!.get();
  return values.filter((v) => v.labels.outcome === 'retry').reduce((sum, v) => sum + v.value, 0);
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
