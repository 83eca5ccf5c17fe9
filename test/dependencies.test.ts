import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/loadConfig';
import { buildDependencies } from '../src/dependencies';
import { createLogger } from '../src/logging/createLogger';
import { testEnvironment } from './support/testEnv';

describe('dependencies: start-up', () => {
  const logger = createLogger('silent');

  it('fails, instead of waiting forever, when Redis cannot be reached at start', async () => {
    const config = loadConfig(testEnvironment({ REDIS_URL: 'redis://127.0.0.1:1' }));
    const started = Date.now();
    await assert.rejects(buildDependencies(config, { logger }), /Redis not reachable/);
    assert.ok(Date.now() - started < 7000);
  });

  it('fails fast when MySQL cannot be reached at start', async () => {
    const config = loadConfig(testEnvironment({ DATABASE_URL: 'mysql://root@127.0.0.1:1/nothing' }));
    await assert.rejects(buildDependencies(config, { logger }), /ECONNREFUSED/);
  });
});
