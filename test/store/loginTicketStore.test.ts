import { MemoryLoginTicketStore } from '../../src/login/MemoryLoginTicketStore';
import { MemoryTicketChangeFeed } from '../../src/login/MemoryTicketChangeFeed';
import { RedisLoginTicketStore } from '../../src/login/RedisLoginTicketStore';
import { RedisTicketChangeFeed } from '../../src/login/RedisTicketChangeFeed';
import { describeLoginTicketStoreContract } from './loginTicketStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: login tickets and their change feed', () => {
  const redis = useTestRedis();
  describeLoginTicketStoreContract('RedisLoginTicketStore + RedisTicketChangeFeed', redis.open((client, keys) => {
    const tickets = new RedisLoginTicketStore(client, keys);
    return { tickets, changes: new RedisTicketChangeFeed(client, tickets.channel) };
  }));
  describeLoginTicketStoreContract('MemoryLoginTicketStore + MemoryTicketChangeFeed', inMemory((clock) => {
    const changes = new MemoryTicketChangeFeed();
    return { tickets: new MemoryLoginTicketStore(clock, changes), changes };
  }));
});
