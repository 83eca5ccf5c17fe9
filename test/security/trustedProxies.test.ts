import assert from 'node:assert/strict';
import { redisOf } from '../support/testApp';
import { scanKeys } from '../support/redisScan';
import { testRun } from '../support/testEnv';
import { visibleText } from '../support/H5Client';
import { API_KEY, PC_BROWSER, World } from './support/world';

/**
 * X-Forwarded-For as the client sends it, then as each trusted proxy appends the address it saw:
 * `hops` proxies in front, the outermost one seeing the client at `clientIp`.
 */
function forwardedFor(clientWrote: string, clientIp: string, hops: number): string {
  const proxies = ['10.0.0.11', '10.0.0.12', '10.0.0.13'].slice(0, hops - 1);
  return [clientWrote, clientIp, ...proxies].join(', ');
}

async function ipCounterKeys(w: World): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of scanKeys(redisOf(w.t.deps), `${testRun.redisPrefix}rate:{attempts:bind-login:ip:*}:*`))
    found.push(...batch.filter((key) => !key.endsWith(':windows')));
  return found;
}

for (const hops of [1, 2]) {
  describe(`V4.1.3 TRUST_PROXY=${hops}: a client-written X-Forwarded-For entry sets no IP (${hops} trusted hop${hops > 1 ? 's' : ''})`, () => {
    const w = new World({ env: { TRUST_PROXY: String(hops) } });
    before(() => w.start());
    after(() => w.stop());
    beforeEach(() => w.reset());

    const CLIENT = '198.51.100.23';

    it('shows on the confirm page the IP the outermost trusted proxy saw, not the one the client wrote', async () => {
      const account = await w.quickAccount();
      const phone = w.newUser();
      await w.insertBinding(phone.openid, account);
      // A portal that reports no clientIp: the caller's own address is the confirm page's IP.
      const created = await w
        .api()
        .post('/api/login/tickets')
        .set('Authorization', API_KEY)
        .set('X-Forwarded-For', forwardedFor('6.6.6.6', CLIENT, hops))
        .send({ userAgent: PC_BROWSER });
      assert.equal(created.status, 201, created.text);
      const link = w.confirmLink(await w.scan(phone.openid, w.sceneOf(created.body)));
      const page = visibleText((await phone.open(link.path)).text);
      assert.match(page, new RegExp(`电脑IP地址 ${CLIENT.replace(/\./g, '\\.')}`), page);
      assert.doesNotMatch(page, /6\.6\.6\.6/);
    });

    it('audits the IP the outermost trusted proxy saw', async () => {
      const res = await w
        .api()
        .post('/api/accounts/authenticate')
        .set('Authorization', API_KEY)
        .set('X-Forwarded-For', forwardedFor('6.6.6.6', CLIENT, hops))
        .send({ loginName: '350102199003071234', password: 'wrong-password-1' });
      assert.equal(res.status, 401);
      const [row] = await w.audit('authenticate_failed');
      assert.equal(row?.ip, CLIENT);
    });

    it('counts every attempt against one per-IP limit however the client rewrites the header', async () => {
      const client = w.newUser();
      const page = await client.open('/h5/bind');
      const csrf = client.csrfToken(page.text);
      for (const spoofed of ['6.6.6.6', '7.7.7.7', '8.8.8.8']) {
        const res = await client.agent
          .post('/h5/bind/login')
          .set('X-Forwarded-For', forwardedFor(spoofed, CLIENT, hops))
          .type('form')
          .send({ _csrf: csrf, loginName: '350102199003071234', password: 'wrong-password-1', captcha: 'XXXX' });
        assert.ok(res.status < 500, `${res.status} ${res.text}`);
      }
      const keys = await ipCounterKeys(w);
      assert.equal(keys.length, 1, `one per-IP counter, found: ${keys.join(', ')}`);
      assert.equal(await redisOf(w.t.deps).get(keys[0]!), '3');
    });
  });
}

describe('V4.1.3 TRUST_PROXY=0: X-Forwarded-For is ignored', () => {
  const w = new World({ env: { TRUST_PROXY: '0' } });
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  it('audits the socket peer, whatever the header says', async () => {
    const res = await w
      .api()
      .post('/api/accounts/authenticate')
      .set('Authorization', API_KEY)
      .set('X-Forwarded-For', '6.6.6.6')
      .send({ loginName: '350102199003071234', password: 'wrong-password-1' });
    assert.equal(res.status, 401);
    const [row] = await w.audit('authenticate_failed');
    assert.match(row?.ip ?? '', /^(::ffff:)?127\.0\.0\.1$|^::1$/);
  });
});
