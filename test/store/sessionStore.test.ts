import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock/Clock';
import { MemorySessionStore } from '../../src/h5/session/MemorySessionStore';
import { RedisSessionStore } from '../../src/h5/session/RedisSessionStore';
import type { H5SessionData } from '../../src/h5/session/SessionStore';
import { MemoryPortalSessionStore, RedisPortalSessionStore, type PortalSessionData } from '../../src/portal/portalSession';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';
import { describeSessionStoreContract } from './sessionStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

const h5Session = (clock: ManualClock): H5SessionData => ({
  csrfToken: 'token', createdAt: clock.now(), lastSeenAt: clock.now(), openid: 'oUSER', bind: { accountId: 'a', at: clock.now() },
});

const portalSession = (clock: ManualClock): PortalSessionData => ({
  csrfToken: 'token', createdAt: clock.now(), lastSeenAt: clock.now(),
  account: { id: 'a', loginName: '350***********1234', realName: '张三', idNumberMasked: '350***********1234', phoneMasked: '138****5678' },
});

describe('store: sessions', () => {
  const redis = useTestRedis();
  describeSessionStoreContract('RedisSessionStore (H5)', redis.open((client, keys) => new RedisSessionStore(client, keys)), h5Session);
  describeSessionStoreContract('MemorySessionStore (H5)', inMemory((clock) => new MemorySessionStore(clock)), h5Session);
  describeSessionStoreContract('RedisPortalSessionStore', redis.open((client, keys) => new RedisPortalSessionStore(client, keys)), portalSession);
  describeSessionStoreContract('MemoryPortalSessionStore', inMemory((clock) => new MemoryPortalSessionStore(clock)), portalSession);

  it('keeps Redis sessions under a hash of the id, never the id itself (reading Redis yields no usable cookie)', async () => {
    const keys = new RedisKeys(`${testRun.redisPrefix}session-keys-${randomBytes(6).toString('hex')}:`);
    const clock = new ManualClock();
    await new RedisSessionStore(redis.client, keys).set('visible-h5-cookie-value', h5Session(clock), 60);
    await new RedisPortalSessionStore(redis.client, keys).set('visible-portal-cookie-value', portalSession(clock), 60);
    const written: string[] = [];
    for await (const batch of redis.client.scanIterator({ MATCH: `${keys.prefix}*` })) written.push(...batch);
    assert.equal(written.length, 2);
    for (const key of written) assert.ok(!key.includes('visible'), key);
  });
});
