import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock/Clock';
import { ExpiringMap } from '../../src/store/ExpiringMap';

describe('store/ExpiringMap (what the in-memory stores are built on)', () => {
  let clock: ManualClock;
  let map: ExpiringMap<string>;
  beforeEach(() => {
    clock = new ManualClock(0);
    map = new ExpiringMap(clock);
  });

  it('returns an entry until its lifetime is over by the clock', () => {
    map.set('a', 'A', 1000);
    clock.advance(999);
    assert.equal(map.get('a'), 'A');
    clock.advance(1);
    assert.equal(map.get('a'), undefined);
  });

  it('sets only when absent or expired (SET NX)', () => {
    assert.equal(map.setIfAbsent('a', 'A', 1000), true);
    assert.equal(map.setIfAbsent('a', 'B', 1000), false);
    clock.advance(1000);
    assert.equal(map.setIfAbsent('a', 'C', 1000), true);
    assert.equal(map.get('a'), 'C');
  });

  it('replaces only a live entry, keeping its expiry (SET XX KEEPTTL)', () => {
    assert.equal(map.replace('a', 'A'), false);
    assert.equal(map.get('a'), undefined);
    map.set('a', 'A', 1000);
    clock.advance(600);
    assert.equal(map.replace('a', 'B'), true);
    clock.advance(399);
    assert.equal(map.get('a'), 'B');
    clock.advance(1);
    assert.equal(map.get('a'), undefined);
  });

  it('takes an entry once (GETDEL), and never an expired one', () => {
    map.set('a', 'A', 1000);
    map.set('b', 'B', 1000);
    assert.equal(map.take('a'), 'A');
    assert.equal(map.take('a'), undefined);
    clock.advance(1000);
    assert.equal(map.take('b'), undefined);
  });

  it('sweeps expired entries out as it grows, keeping the live ones', () => {
    for (let i = 0; i < 1000; i++) map.set(`old${i}`, 'x', 1000);
    clock.advance(1000);
    for (let i = 0; i < 100; i++) map.set(`new${i}`, 'y', 1000);
    assert.ok(map.size < 200, `${map.size} entries held`);
    for (let i = 0; i < 100; i++) assert.equal(map.get(`new${i}`), 'y');
  });

  it('holds at most maxEntries, the entries written longest ago making room', () => {
    const capped = new ExpiringMap<string>(clock, 3);
    for (const key of ['a', 'b', 'c']) capped.set(key, key, 60_000);
    capped.set('a', 'a2', 60_000); // a rewrite counts as the newest
    capped.set('d', 'd', 60_000);
    assert.equal(capped.size, 3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd'].map((key) => capped.get(key)),
      ['a2', undefined, 'c', 'd'],
    );
    capped.clear();
    assert.equal(capped.size, 0);
  });
});
