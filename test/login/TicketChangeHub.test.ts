import assert from 'node:assert/strict';
import { MemoryTicketChangeFeed } from '../../src/login/MemoryTicketChangeFeed';
import { ticketChangeId } from '../../src/login/TicketChangeFeed';
import { TicketChangeHub } from '../../src/login/TicketChangeHub';
import { newTicketIdentifiers } from '../../src/login/ticketIdentifiers';

describe('login/TicketChangeHub: waking held polls', () => {
  let feed: MemoryTicketChangeFeed;
  let hub: TicketChangeHub;
  beforeEach(async () => {
    feed = new MemoryTicketChangeFeed();
    hub = new TicketChangeHub(feed);
    await hub.start();
  });
  afterEach(() => hub.stop());

  /** Whether `promise` has settled by the time the microtasks queued now have run. */
  const settled = async (promise: Promise<void>) => {
    let done = false;
    void promise.then(() => {
      done = true;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    return done;
  };

  it("wakes the one poll of a ticket on its change, and no other ticket's", async () => {
    const mine = newTicketIdentifiers().ticketId;
    const other = newTicketIdentifiers().ticketId;
    const a = hub.listen(mine, 60_000);
    const b = hub.listen(other, 60_000);
    assert.equal(hub.waiting, 2);
    feed.publish(ticketChangeId(mine));
    assert.equal(await settled(a.changed), true);
    assert.equal(await settled(b.changed), false);
    assert.equal(hub.waiting, 1);
    b.cancel();
    assert.equal(hub.waiting, 0);
  });

  it('wakes every poll of a ticket polled by several browsers; a cancelled one leaves the others waiting', async () => {
    const ticketId = newTicketIdentifiers().ticketId;
    const [a, b, c] = [hub.listen(ticketId, 60_000), hub.listen(ticketId, 60_000), hub.listen(ticketId, 60_000)];
    assert.equal(hub.waiting, 3);
    b.cancel();
    assert.equal(await settled(b.changed), true);
    assert.equal(hub.waiting, 2);
    feed.publish(ticketChangeId(ticketId));
    assert.deepEqual([await settled(a.changed), await settled(c.changed)], [true, true]);
    assert.equal(hub.waiting, 0);
  });

  it('ends a wait at its timeout, and releases every poll at shutdown', async () => {
    const ticketId = newTicketIdentifiers().ticketId;
    await hub.listen(ticketId, 5).changed;
    assert.equal(hub.waiting, 0);
    const held = [hub.listen(ticketId, 60_000), hub.listen(newTicketIdentifiers().ticketId, 60_000)];
    hub.releaseAll();
    assert.deepEqual(await Promise.all(held.map((h) => settled(h.changed))), [true, true]);
    assert.equal(hub.waiting, 0);
    assert.equal(hub.draining, true);
    assert.equal(await settled(hub.listen(ticketId, 60_000).changed), true, 'once draining, a new wait ends at once');
  });
});
