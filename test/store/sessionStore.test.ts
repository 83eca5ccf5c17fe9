import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock/Clock';
import { H5_SESSIONS } from '../../src/h5/session/h5Session';
import { MemorySessionStore } from '../../src/http/session/MemorySessionStore';
import { RedisSessionStore } from '../../src/http/session/RedisSessionStore';
import type { SessionData } from '../../src/http/session/SessionStore';
import { PORTAL_SESSIONS } from '../../src/portal/portalSession';
import { RedisKeys } from '../../src/store/RedisKeys';
import { scanKeys } from '../support/redisScan';
import { testRun } from '../support/testEnv';
import { describeSessionStoreContract } from './sessionStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

/** A session as the H5 pages and the portal keep them: the common fields and some of the use's own. */
interface SampleSession extends SessionData {
  openid?: string;
  account?: { id: string; realName: string };
}

const sample = (clock: ManualClock): SampleSession => ({
  csrfToken: 'token',
  createdAt: clock.now(),
  lastSeenAt: clock.now(),
  openid: 'oUSER',
  account: { id: 'a', realName: '张三' },
});

const actingFor = (clock: ManualClock, accountId: string): SampleSession => ({
  ...sample(clock),
  account: { id: accountId, realName: '张三' },
});
const accountOf = (data: SampleSession) => data.account?.id;

describe("store: sessions (the H5 pages' and the portal's, one store per use)", () => {
  const redis = useTestRedis();
  describeSessionStoreContract(
    'RedisSessionStore',
    redis.open((client, keys) => new RedisSessionStore<SampleSession>(client, keys, 'h5', accountOf)),
    sample,
    actingFor,
  );
  describeSessionStoreContract(
    'MemorySessionStore',
    inMemory((clock) => new MemorySessionStore<SampleSession>(clock, accountOf)),
    sample,
    actingFor,
  );

  it('keeps Redis sessions under <namespace>:session:<sha256(id)>, never the id itself (reading Redis yields no usable cookie), each use apart', async () => {
    const keys = new RedisKeys(`${testRun.redisPrefix}session-keys-${randomBytes(6).toString('hex')}:`);
    const clock = new ManualClock();
    const h5 = new RedisSessionStore<SampleSession>(redis.client, keys, H5_SESSIONS.namespace);
    const portal = new RedisSessionStore<SampleSession>(redis.client, keys, PORTAL_SESSIONS.namespace);
    await h5.set('visible-h5-cookie-value', sample(clock), 60);
    await portal.set('visible-portal-cookie-value', sample(clock), 60);
    const written: string[] = [];
    for await (const batch of scanKeys(redis.client, `${keys.prefix}*`)) written.push(...batch);
    const sha = (id: string) => createHash('sha256').update(id).digest('hex');
    assert.deepEqual(written.sort(), [
      keys.key('h5', 'session', sha('visible-h5-cookie-value')),
      keys.key('portal', 'session', sha('visible-portal-cookie-value')),
    ]);
    for (const key of written) assert.ok(!key.includes('visible'), key);
    assert.equal(await portal.get('visible-h5-cookie-value'), null, 'the portal does not see H5 sessions');
    assert.equal(await h5.get('visible-portal-cookie-value'), null, "nor the H5 pages the portal's");
  });
});
