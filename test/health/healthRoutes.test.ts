import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestApp, redisOf, type TestApp } from '../support/testApp';

const requestIdPattern = /^[A-Za-z0-9-]{8,64}$/;

describe('health: /healthz and /readyz', () => {
  describe('with MariaDB and Redis up', () => {
    let t: TestApp;

    before(async () => {
      t = await createTestApp();
    });

    after(async () => {
      await t?.close();
    });

    it('GET /healthz answers 200 {status:"ok"}', async () => {
      const res = await request(t.app.callback()).get('/healthz');
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(res.body, { status: 'ok' });
      assert.match(res.headers['x-request-id'] ?? '', requestIdPattern);
    });

    it('GET /readyz answers 200 with mysql and redis ok', async () => {
      const res = await request(t.app.callback()).get('/readyz');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(res.body, { status: 'ready', checks: { mysql: 'ok', redis: 'ok' } });
      assert.match(res.headers['x-request-id'] ?? '', requestIdPattern);
    });

    it('gives each answer its own request id, and echoes a well-formed incoming one', async () => {
      const a = await request(t.app.callback()).get('/healthz');
      const b = await request(t.app.callback()).get('/healthz');
      assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
      const own = 'health-check-0001';
      const echoed = await request(t.app.callback()).get('/readyz').set('X-Request-Id', own);
      assert.equal(echoed.headers['x-request-id'], own);
      // A malformed one is replaced, not reflected.
      const replaced = await request(t.app.callback()).get('/healthz').set('X-Request-Id', 'bad id <script>');
      assert.match(replaced.headers['x-request-id'] ?? '', requestIdPattern);
      assert.notEqual(replaced.headers['x-request-id'], 'bad id <script>');
    });

    it('answers an unknown path with 404, still carrying a request id', async () => {
      const res = await request(t.app.callback()).get('/healthz/nope');
      assert.equal(res.status, 404);
      assert.match(res.headers['x-request-id'] ?? '', requestIdPattern);
    });
  });

  describe('with MySQL gone', () => {
    let t: TestApp;

    before(async () => {
      t = await createTestApp();
      await t.deps.db.destroy();
    });

    after(async () => {
      await t?.close();
    });

    it('GET /readyz answers 503 JSON with mysql down and redis ok', async () => {
      const res = await request(t.app.callback()).get('/readyz');
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(res.body, { status: 'unavailable', checks: { mysql: 'down', redis: 'ok' } });
      assert.match(res.headers['x-request-id'] ?? '', requestIdPattern);
    });

    it('GET /healthz still answers 200: the process is alive', async () => {
      const res = await request(t.app.callback()).get('/healthz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok' });
      assert.match(res.headers['x-request-id'] ?? '', requestIdPattern);
    });
  });

  describe('with Redis gone', () => {
    let t: TestApp;

    before(async () => {
      t = await createTestApp();
      await redisOf(t.deps).close();
    });

    after(async () => {
      await t?.close();
    });

    it('GET /readyz answers 503 JSON with redis down and mysql ok', async () => {
      const started = Date.now();
      const res = await request(t.app.callback()).get('/readyz');
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(res.body, { status: 'unavailable', checks: { mysql: 'ok', redis: 'down' } });
      assert.match(res.headers['x-request-id'] ?? '', requestIdPattern);
      // A closed client fails at once rather than waiting for the check's timeout.
      assert.ok(Date.now() - started < 1000, 'the redis check waited for its timeout');
    });
  });
});
