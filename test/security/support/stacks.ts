import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testRun } from '../../support/testEnv';
import { World, type WorldOptions } from './world';

/**
 * Runs `suite` against each stack the service runs on: MariaDB + Redis (production), and the
 * embedded demo's SQLite + in-process stores (REDIS_URL=memory). Each gets its own World, started
 * once and reset before every test.
 */
export function describeOnBothStacks(title: string, suite: (w: World) => void, options: WorldOptions = {}): void {
  describe(`${title} (MariaDB + Redis)`, () => {
    const w = new World(options);
    before(() => w.start());
    after(() => w.stop());
    beforeEach(() => w.reset());
    suite(w);
  });

  describe(`${title} (embedded: SQLite + REDIS_URL=memory)`, () => {
    const file = path.join(tmpdir(), `etax-${testRun.id}-${randomBytes(4).toString('hex')}.sqlite`);
    const w = new World({ ...options, env: { ...options.env, REDIS_URL: 'memory', DATABASE_URL: `sqlite:${file}` } });
    before(() => w.start());
    after(async () => {
      await w.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    });
    beforeEach(() => w.reset());
    suite(w);
  });
}
