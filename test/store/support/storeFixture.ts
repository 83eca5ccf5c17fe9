import { ManualClock, type Clock } from '../../../src/clock/Clock';

/** A store as one test gets it: fresh, on its own corner of the backend. */
export interface OpenedStore<S> {
  store: S;
  /** Lets `ms` pass for the backend's own expiry (Redis TTLs); the clock is moved by the fixture. */
  elapse(ms: number): Promise<void>;
}

/** Opens a fresh store whose times come from `clock`. */
export type OpenStore<S> = (clock: ManualClock) => Promise<OpenedStore<S>>;

export interface StoreFixture<S> {
  readonly store: S;
  readonly clock: ManualClock;
  /** Moves time by `ms` for everything: the injected clock and the backend's TTLs alike. */
  advance(ms: number): Promise<void>;
}

/**
 * Midnight UTC (a window boundary of every fixed window used), on a Thursday far from any DST or
 * leap-second oddity; every contract test starts here.
 */
export const CONTRACT_START_MS = Date.UTC(2031, 4, 1);

/** Registers the hooks that give each test of the surrounding `describe` a fresh store and clock. */
export function useStore<S>(open: OpenStore<S>, startMs = CONTRACT_START_MS): StoreFixture<S> {
  let opened: OpenedStore<S> | null = null;
  let clock = new ManualClock(startMs);
  beforeEach(async () => {
    clock = new ManualClock(startMs);
    opened = await open(clock);
  });
  return {
    get store() {
      if (!opened) throw new Error('the store is opened before each test; use it inside one');
      return opened.store;
    },
    get clock() {
      return clock;
    },
    async advance(ms: number) {
      clock.advance(ms);
      await opened?.elapse(ms);
    },
  };
}

/** An in-memory store: its lifetimes follow the clock, so nothing else has to elapse. */
export function inMemory<S>(make: (clock: Clock) => S): OpenStore<S> {
  return (clock) => Promise.resolve({ store: make(clock), elapse: () => Promise.resolve() });
}
