import assert from 'node:assert/strict';
import Koa from 'koa';
import request from 'supertest';
import { errorHandler } from '../../src/http/errorHandler';
import { createLogger } from '../../src/logging/createLogger';
import { Metrics } from '../../src/observability/Metrics';
import { metricsRoutes } from '../../src/observability/metricsRoutes';
import { createTestApp, type TestApp } from '../support/testApp';

const METRICS_TOKEN = 'operator-token-0123456789abcdef012345';

function metricsApp(token: string | null, production: boolean): Koa {
  const app = new Koa();
  app.use(errorHandler(createLogger('silent')));
  app.use(metricsRoutes({ metrics: new Metrics({ defaultMetrics: false }), token, production }).routes());
  return app;
}

describe('V13.4.5 /metrics and /readyz are for operators only', () => {
  it('in production without METRICS_TOKEN, /metrics is 404 even to a loopback peer without forwarding headers (a same-host plain proxy_pass)', async () => {
    const res = await request(metricsApp(null, true).callback()).get('/metrics');
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.text, /etax_|# TYPE/);
  });

  it('in production with METRICS_TOKEN, /metrics answers only the token', async () => {
    const app = metricsApp(METRICS_TOKEN, true).callback();
    assert.equal((await request(app).get('/metrics')).status, 401);
    const scraped = await request(app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    assert.equal(scraped.status, 200);
  });

  describe('/readyz', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ env: { METRICS_TOKEN } });
    });
    after(() => t.close());

    it('tells a forwarded (public) request the bare status, no dependency names', async () => {
      const res = await request(t.app.callback()).get('/readyz').set('X-Forwarded-For', '198.51.100.7');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ready' });
    });

    it('tells the token holder and a direct loopback connection which dependency is in what state', async () => {
      const withToken = await request(t.app.callback())
        .get('/readyz')
        .set('X-Forwarded-For', '198.51.100.7')
        .set('Authorization', `Bearer ${METRICS_TOKEN}`);
      assert.deepEqual(withToken.body, { status: 'ready', checks: { mysql: 'ok', redis: 'ok' } });
      const loopback = await request(t.app.callback()).get('/readyz');
      assert.deepEqual(loopback.body, { status: 'ready', checks: { mysql: 'ok', redis: 'ok' } });
    });
  });
});
