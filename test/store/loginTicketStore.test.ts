import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describeBrowser } from '../../src/login/describeBrowser';
import { MemoryLoginTicketStore } from '../../src/login/MemoryLoginTicketStore';
import { MemoryTicketChangeFeed } from '../../src/login/MemoryTicketChangeFeed';
import { RedisLoginTicketStore } from '../../src/login/RedisLoginTicketStore';
import { RedisTicketChangeFeed } from '../../src/login/RedisTicketChangeFeed';
import { newTicketIdentifiers } from '../../src/login/ticketIdentifiers';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';
import { describeLoginTicketStoreContract } from './loginTicketStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: login tickets and their change feed', () => {
  const redis = useTestRedis();
  describeLoginTicketStoreContract(
    'RedisLoginTicketStore + RedisTicketChangeFeed',
    redis.open((client, keys) => {
      const tickets = new RedisLoginTicketStore(client, keys);
      return { tickets, changes: new RedisTicketChangeFeed(client, tickets.channel) };
    }),
  );
  describeLoginTicketStoreContract(
    'MemoryLoginTicketStore + MemoryTicketChangeFeed',
    inMemory((clock) => {
      const changes = new MemoryTicketChangeFeed();
      return { tickets: new MemoryLoginTicketStore(clock, changes), changes };
    }),
  );

  it('keeps a scanned ticket in Redis in the compact listpack encoding, under 1 KiB', async () => {
    const keys = new RedisKeys(`${testRun.redisPrefix}ticket-size-${randomBytes(6).toString('hex')}:`);
    const store = new RedisLoginTicketStore(redis.client, keys);
    const ids = newTicketIdentifiers();
    const now = Date.now();
    // The longest values a ticket can hold: an IPv6 address, a long desktop User-Agent, the longest
    // portal name (32 characters) and display name (20 CJK characters).
    const userAgent = `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0 ${'x'.repeat(300)}`;
    await store.create({
      ...ids,
      status: 'pending',
      createdAt: now,
      expiresAt: now + 300_000,
      clientIp: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
      browser: describeBrowser(userAgent),
      portal: `p${'x'.repeat(31)}`,
      portalDisplayName: '福'.repeat(20),
    });
    assert.equal(
      (await store.scan(ids.sceneStr, `o${'x'.repeat(27)}`, '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', now)).result,
      'scanned',
    );
    const key = keys.key('login', `{${ids.tag}}`);
    try {
      assert.equal(await redis.node.sendCommand(['OBJECT', 'ENCODING', key]), 'listpack');
      const bytes = Number(await redis.node.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
      assert.ok(bytes > 0 && bytes <= 1024, `${bytes} bytes`);
    } finally {
      await redis.client.del(key);
    }
  });
});
