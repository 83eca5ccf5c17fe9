import assert from 'node:assert/strict';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { env, World } from './support/world';

/** WeChat's pushes to /wechat: a leaked query string, and plaintext pushes to an account in safe mode. */
describe('WeChat pushes: replayed (timestamp, nonce) and WECHAT_MESSAGE_MODE', () => {
  describe('a (timestamp, nonce) seen in the window carries no other body', () => {
    const w = new World();
    before(() => w.start());
    after(() => w.stop());
    beforeEach(() => w.reset());

    const post = (query: Record<string, string>, body: string) =>
      w.api().post('/wechat').query(query).type('text/xml').send(body);

    it('refuses (401) a forged unsubscribe under a leaked query string, and the binding stays subscribed', async () => {
      const account = await w.quickAccount();
      const openid = w.newUser().openid;
      await w.insertBinding(openid, account);
      const leaked = w.driver.sign(w.driver.textMessage(openid, '帮助'));
      assert.equal((await post(leaked.query, leaked.body)).status, 200);

      const forged = await post(leaked.query, w.driver.event(openid, 'unsubscribe'));
      assert.equal(forged.status, 401);
      assert.equal((await w.bindings().findOneByOrFail({ openid })).subscribed, true);
    });

    it('lets a retry with the same body through to the dedupe: it gets the first reply', async () => {
      const openid = w.newUser().openid;
      const push = w.driver.sign(w.driver.textMessage(openid, '帮助'));
      const first = await post(push.query, push.body);
      const retry = await post(push.query, push.body);
      assert.equal(first.status, 200);
      assert.equal(retry.status, 200);
      assert.equal(retry.text, first.text);
    });

    it('forgets the pair once its timestamp has left the window', async () => {
      const openid = w.newUser().openid;
      const push = w.driver.sign(w.driver.textMessage(openid, '帮助'));
      assert.equal((await post(push.query, push.body)).status, 200);
      w.clock.advance(2 * 300_000 + 1000);
      // The pair is stale now: refused by the timestamp window, not replayable either way.
      assert.equal((await post(push.query, w.driver.event(openid, 'unsubscribe'))).status, 401);
    });
  });

  describe('WECHAT_MESSAGE_MODE=safe', () => {
    const w = new World({ env: { WECHAT_MESSAGE_MODE: 'safe' } });
    before(() => w.start());
    after(() => w.stop());
    beforeEach(() => w.reset());

    const driver = (mode: 'safe' | 'compat') =>
      new PushDriver({
        token: env.WECHAT_TOKEN!,
        appId: env.WECHAT_APPID!,
        encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
        clock: w.clock,
        mode,
      });

    it('refuses (401) a plaintext push, even correctly signed, and changes nothing', async () => {
      const account = await w.quickAccount();
      const openid = w.newUser().openid;
      await w.insertBinding(openid, account);
      const plain = w.driver.sign(w.driver.event(openid, 'unsubscribe'));
      const res = await w.api().post('/wechat').query(plain.query).type('text/xml').send(plain.body);
      assert.equal(res.status, 401);
      assert.equal((await w.bindings().findOneByOrFail({ openid })).subscribed, true);
    });

    it('refuses an encrypted push whose msg_signature is missing or wrong', async () => {
      const openid = w.newUser().openid;
      const push = driver('safe').sign(driver('safe').event(openid, 'unsubscribe'));
      const { msg_signature: _dropped, ...without } = push.query;
      for (const query of [without, { ...push.query, msg_signature: 'f'.repeat(40) }]) {
        const res = await w.api().post('/wechat').query(query).type('text/xml').send(push.body);
        assert.equal(res.status, 401);
      }
    });

    it('accepts encrypted pushes with a valid msg_signature (safe and compatible framing)', async () => {
      const openid = w.newUser().openid;
      for (const mode of ['safe', 'compat'] as const) {
        const d = driver(mode);
        w.clock.advance(1000);
        const push = d.sign(d.textMessage(openid, '帮助'));
        const res = await w.api().post('/wechat').query(push.query).type('text/xml').send(push.body);
        assert.equal(res.status, 200, `${mode}: ${res.text}`);
        assert.ok((await d.readReply(res.text))?.Content, mode);
      }
    });
  });
});
