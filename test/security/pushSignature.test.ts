import assert from 'node:assert/strict';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { env, World } from './support/world';

/** A signature of the right length and alphabet that differs from `signature` in its last character only. */
const lastCharChanged = (signature: string) => signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');

/**
 * The guard in front of co-wechat compares WeChat's signature in constant time, and it is the only
 * check on /wechat: co-wechat, which would compare with `!==`, gets a request it does not verify.
 * So a forged signature must be refused by the guard itself (its JSON `invalid_signature` answer,
 * not co-wechat's text) and must change nothing.
 */
describe('V11.2.4 /wechat signatures are checked in constant time by the guard alone', () => {
  const w = new World({ env: { WECHAT_MESSAGE_MODE: 'compatible' } });
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  const refusedByGuard = (res: { status: number; body: unknown; text: string }, echostr?: string) => {
    assert.equal(res.status, 401, res.text);
    assert.deepEqual((res.body as { error?: { code?: string } }).error?.code, 'invalid_signature', res.text);
    if (echostr) assert.ok(!res.text.includes(echostr), 'the echostr must not be echoed');
  };

  it('refuses the URL verification (GET) whose signature differs in the last character, echoing nothing', async () => {
    const echostr = 'echo-4711-verification';
    const good = w.driver.verification(echostr);
    assert.equal((await w.api().get('/wechat').query(good)).text, echostr, 'the genuine verification is echoed');
    const forged = { ...good, signature: lastCharChanged(good.signature!) };
    refusedByGuard(await w.api().get('/wechat').query(forged).accept('json'), echostr);
  });

  it('refuses a plain push whose signature differs in the last character, and the binding stays subscribed', async () => {
    const account = await w.quickAccount();
    const openid = w.newUser().openid;
    await w.insertBinding(openid, account);
    const push = w.driver.sign(w.driver.event(openid, 'unsubscribe'));
    const forged = { ...push.query, signature: lastCharChanged(push.query.signature!) };
    refusedByGuard(await w.api().post('/wechat').query(forged).accept('json').type('text/xml').send(push.body));
    assert.equal((await w.bindings().findOneByOrFail({ openid })).subscribed, true);

    const genuine = await w.api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(genuine.status, 200, 'the same push correctly signed is handled');
    assert.equal((await w.bindings().findOneByOrFail({ openid })).subscribed, false);
  });

  it('refuses an encrypted push with a valid msg_signature but a forged signature', async () => {
    const account = await w.quickAccount();
    const openid = w.newUser().openid;
    await w.insertBinding(openid, account);
    const driver = new PushDriver({
      token: env.WECHAT_TOKEN!,
      appId: env.WECHAT_APPID!,
      encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
      clock: w.clock,
      mode: 'safe',
    });
    const push = driver.sign(driver.event(openid, 'unsubscribe'));
    const forged = { ...push.query, signature: lastCharChanged(push.query.signature!) };
    refusedByGuard(await w.api().post('/wechat').query(forged).accept('json').type('text/xml').send(push.body));
    assert.equal((await w.bindings().findOneByOrFail({ openid })).subscribed, true);

    const genuine = await w.api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(genuine.status, 200, 'the same push correctly signed is handled');
    assert.equal((await w.bindings().findOneByOrFail({ openid })).subscribed, false);
  });
});
