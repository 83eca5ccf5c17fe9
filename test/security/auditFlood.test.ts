import assert from 'node:assert/strict';
import { AuditLog } from '../../src/audit/AuditLog';
import { DEFAULT_REFUSAL_AUDIT_LIMIT, RefusalAuditCap } from '../../src/audit/RefusalAuditCap';
import { createLogger } from '../../src/logging/createLogger';
import type { RateLimiter } from '../../src/security/RateLimiter';
import { visibleText } from '../support/H5Client';
import { describeOnBothStacks } from './support/stacks';
import { API_KEY } from './support/world';

const { limit, windowSeconds } = DEFAULT_REFUSAL_AUDIT_LIMIT;
const FLOOD = 200;
/** Each refused portal login verifies a (dummy) argon2id hash: fewer, still well past the cap. */
const API_FLOOD = 2 * limit;

describeOnBothStacks('security: a flood of refusals cannot fill audit_events (ASVS V2.4.1, V16.3.1)', (w) => {
  const reasons = async (type: 'register_failed' | 'bind_failed' | 'authenticate_failed') =>
    (await w.audit(type)).map((e) => (e.detail as { reason: string }).reason);

  it(`V2.4.1: ${FLOOD} invalid 实名注册 forms from one WeChat write a bounded number of rows (the attempt limiter, then the cap)`, async () => {
    const attacker = w.newUser();
    const page = await attacker.open('/h5/register');
    // Spaces inside the name (posted as %20: within the 16 KiB form limit) are what the old normalising choked on.
    const invalid = { realName: `张${' '.repeat(4_000)}三`, idNumber: 'x', phone: '1', password: 'p' };
    const statuses = new Set<number>();

    for (let i = 0; i < FLOOD; i++)
      statuses.add((await w.registerPost(attacker, attacker.csrfToken(page.text), invalid, '')).status);
    assert.deepEqual([...statuses].sort(), [400, 429]);
    const rows = await reasons('register_failed');
    assert.ok(rows.length <= limit + 1, `${rows.length} register_failed rows for ${FLOOD} posts`);
    assert.deepEqual(rows, [...Array<string>(10).fill('invalid_form'), 'too_many_attempts']);
  });

  it(`V2.4.1: ${FLOOD} refused 实名绑定 confirmations from one WeChat write at most ${limit + 1} rows`, async () => {
    const taxpayer = await w.quickAccount();
    const user = w.newUser();
    assert.equal((await w.bindLogin(user, taxpayer.idNumber, taxpayer.password)).status, 302);
    const page = await user.open('/h5/bind');
    for (let i = 0; i < FLOOD; i++) {
      const res = await user.post('/h5/bind/confirm', {
        _csrf: user.csrfToken(page.text),
        phone: '13900000000',
        smsCode: '123456',
      });
      assert.ok([400, 401, 429].includes(res.status), `${res.status}: ${visibleText(res.text)}`);
    }
    const rows = await w.audit('bind_failed');
    assert.ok(rows.length <= limit + 1, `${rows.length} bind_failed rows for ${FLOOD} refusals`);
  });

  it(`V2.4.1: ${API_FLOOD} refused portal logins for one browser (reported clientIp) write at most ${limit + 1} rows; another browser's are stored`, async () => {
    const authenticate = (clientIp: string) =>
      w
        .api()
        .post('/api/accounts/authenticate')
        .set('Authorization', API_KEY)
        .send({ loginName: '350102199001011234', password: 'guess', clientIp });
    for (let i = 0; i < API_FLOOD; i++) assert.ok([401, 429].includes((await authenticate('203.0.113.66')).status));
    const flood = (await w.audit('authenticate_failed')).filter((e) => e.ip === '203.0.113.66');
    assert.ok(flood.length >= 1 && flood.length <= limit + 1, `${flood.length} rows for ${API_FLOOD} refusals`);
    await authenticate('198.51.100.9');
    assert.equal((await w.audit('authenticate_failed')).filter((e) => e.ip === '198.51.100.9').length, 1);
  });

  it(`V2.4.1: the audit writer stores ${limit} rows of each refusal type per client and window, then one marked capped, then none; other clients and the next window are unaffected`, async () => {
    const { audit } = w.t.deps;
    const flood = (
      type: 'register_failed' | 'bind_failed' | 'authenticate_failed',
      client: { openid?: string; ip: string },
    ) =>
      Promise.all(
        Array.from({ length: FLOOD }, (_, i) => audit.record({ type, ...client, detail: { reason: 'flood', i } })),
      );
    const rowsOf = async (
      type: 'register_failed' | 'bind_failed' | 'authenticate_failed',
      match: (e: { openid: string | null; ip: string | null }) => boolean,
    ) => (await w.audit(type)).filter(match);
    for (const type of ['register_failed', 'bind_failed', 'authenticate_failed'] as const) {
      // A WeChat user (from one IP), and a client known only by its IP (the portal API).
      await flood(type, { openid: 'o-flooder', ip: '203.0.113.1' });
      await flood(type, { ip: '203.0.113.2' });
      for (const match of [
        (e: { openid: string | null }) => e.openid === 'o-flooder',
        (e: { ip: string | null; openid: string | null }) => e.ip === '203.0.113.2' && !e.openid,
      ]) {
        const rows = await rowsOf(type, match);
        assert.equal(rows.length, limit + 1, `${type}: ${rows.length} rows for ${FLOOD} refusals`);
        assert.equal(rows.filter((e) => e.detail && 'capped' in e.detail).length, 1, `${type}: one row marked capped`);
        const { until } = (rows.find((e) => e.detail && 'capped' in e.detail)!.detail as { capped: { until: string } })
          .capped;
        assert.ok(Date.parse(until) > w.clock.now() && Date.parse(until) <= w.clock.now() + windowSeconds * 1000);
      }
      // Another WeChat on the same IP is another client.
      await audit.record({ type, openid: 'o-neighbour', ip: '203.0.113.1', detail: { reason: 'typo' } });
      assert.equal((await rowsOf(type, (e) => e.openid === 'o-neighbour')).length, 1);
    }
    w.clock.advance(windowSeconds * 1000);
    await audit.record({ type: 'bind_failed', openid: 'o-flooder', ip: '203.0.113.1', detail: { reason: 'later' } });
    assert.equal((await rowsOf('bind_failed', (e) => e.openid === 'o-flooder')).length, limit + 2, 'a new window');
  });

  it('V16.3.1: caps refusals only: successes and other events are all stored; an uncountable cap stores the row', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
    const failing: RateLimiter = {
      hit: () => Promise.reject(new Error('redis down')),
      peek: () => Promise.reject(new Error('redis down')),
      reset: () => Promise.reject(new Error('redis down')),
    };
    const capped = new AuditLog(w.t.deps.db, w.clock, logger, new RefusalAuditCap(failing, Buffer.alloc(32, 3)));
    await capped.record({ type: 'register_failed', openid: 'o-flood', detail: { reason: 'invalid_form' } });
    assert.equal((await w.audit('register_failed')).length, 1, 'fails open');
    assert.ok(lines.some((line) => line.includes('refusal cap not counted')));

    for (let i = 0; i < limit + 10; i++)
      await w.t.deps.audit.record({ type: 'login_scanned', openid: 'o-busy', detail: { ticket: i } });
    assert.equal((await w.audit('login_scanned')).length, limit + 10);
  });
});
