import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { ManualClock } from '../../src/clock/Clock';
import { createLogger } from '../../src/logging/createLogger';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
import { withStub } from '../support/withStub';

const env = testEnvironment();

interface LogLine {
  level: number;
  msg: string;
  service?: string;
  requestId?: string;
  method?: string;
  path?: string;
  route?: string;
  status?: number;
  ms?: number;
  err?: { type?: string; message?: string; stack?: string };
  [field: string]: unknown;
}

describe('observability: JSON logs with a request id', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 2, 2, 0, 0));
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  const lines: string[] = [];
  let t: TestApp;

  const logs = (): LogLine[] => lines.map((line) => JSON.parse(line) as LogLine);
  const requestLines = () => logs().filter((line) => line.msg === 'request');
  const api = () => request(t.app.callback());

  before(async () => {
    // The logger the service builds, writing into this array instead of stdout.
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    t = await createTestApp({ clock, logger });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
    lines.length = 0;
  });

  it('writes one JSON line per request with requestId, method, path, matched route, status and ms, never the query', async () => {
    const ticketId = randomBytes(24).toString('hex');
    const res = await api().get(`/api/login/tickets/${ticketId}?wait=0&status=pending`);
    assert.equal(res.status, 404);
    const [line, ...more] = requestLines();
    assert.deepEqual(more, []);
    assert.equal(line!.level, 30);
    assert.equal(line!.service, 'etax-wechat');
    assert.equal(line!.requestId, res.headers['x-request-id']);
    assert.equal(line!.method, 'GET');
    // The path, its login ticket id cut to the slot tag (src/http/logSafePath.ts).
    assert.equal(line!.path, `/api/login/tickets/${ticketId.slice(0, 16)}…`);
    assert.ok(!lines.join('\n').includes(ticketId));
    assert.equal(line!.route, '/api/login/tickets/:ticketId');
    assert.equal(line!.status, 404);
    assert.equal(typeof line!.ms, 'number');
    assert.ok(line!.ms! >= 0);
    assert.ok(!lines.join('\n').includes('status=pending'), 'the query string is never logged');

    await api().get('/no/such/page');
    assert.equal(requestLines()[1]!.route, 'unmatched');
  });

  it('keeps a well-formed incoming X-Request-Id and replaces a malformed one', async () => {
    const kept = await api().get('/healthz').set('X-Request-Id', 'portal-7f3a9c2e-0001');
    assert.equal(kept.headers['x-request-id'], 'portal-7f3a9c2e-0001');
    const replaced = await api().get('/healthz').set('X-Request-Id', 'bad id with="quotes" and more');
    assert.match(replaced.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      requestLines().map((line) => line.requestId),
      ['portal-7f3a9c2e-0001', replaced.headers['x-request-id']],
    );
    assert.ok(!lines.join('\n').includes('with='));
  });

  it('gives concurrent requests their own ids, each on its own line', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => api().get(`/no/such/page-${i}`)));
    const ids = answers.map((res) => res.headers['x-request-id']);
    assert.equal(new Set(ids).size, 10);
    const byId = new Map(requestLines().map((line) => [line.requestId, line.path]));
    answers.forEach((res, i) => assert.equal(byId.get(res.headers['x-request-id']), `/no/such/page-${i}`));
  });

  it('carries the request id on the error line of a failed request', async () => {
    await withStub(
      t.deps.login,
      'view',
      () => Promise.reject(new Error('ticket store exploded')),
      async () => {
        const res = await api().get(`/api/login/tickets/${'c'.repeat(48)}`);
        assert.equal(res.status, 500);
        assert.deepEqual(res.body, { error: { code: 'internal_error', message: 'internal error' } });
        const id = res.headers['x-request-id'];
        const failed = logs().filter((line) => line.msg === 'request failed');
        assert.equal(failed.length, 1);
        assert.equal(failed[0]!.level, 50);
        assert.equal(failed[0]!.requestId, id);
        assert.equal(failed[0]!.err?.message, 'ticket store exploded');
        assert.match(failed[0]!.err?.stack ?? '', /ticket store exploded/);
        const [line] = requestLines();
        assert.equal(line!.requestId, id);
        assert.equal(line!.status, 500);
      },
    );
  });

  it('carries the request id on the error lines of the WeChat endpoint', async () => {
    await withStub(
      t.deps.dedupe,
      'claim',
      () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })),
      async () => {
        const push = driver.sign(driver.textMessage('oTestUser0000000000000000001', '你好'));
        const res = await api().post('/wechat').query(push.query).type('text/xml').send(push.body);
        assert.equal(res.status, 200);
        const id = res.headers['x-request-id'];
        const errors = logs().filter((line) => line.level >= 50);
        assert.deepEqual(
          errors.map((line) => [line.msg, line.requestId]),
          [['push dedupe unavailable', id]],
        );
        assert.equal(requestLines()[0]!.route, '/wechat');
        assert.equal(requestLines()[0]!.requestId, id);
      },
    );
  });
});
