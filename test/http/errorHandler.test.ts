import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/testApp';

describe('http/errorHandler: API refusals in the API error shape', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());
  const api = () => request(t.app.callback());
  const TICKET = `/api/login/tickets/${'0'.repeat(48)}`;

  it('answers an unknown API path 404 not_found in JSON', async () => {
    const res = await api().get('/api/no-such-thing');
    assert.equal(res.status, 404);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(res.body, { error: { code: 'not_found', message: 'no such endpoint' } });
  });

  it('answers a method the route does not take 405 method_not_allowed in JSON, with Allow', async () => {
    const res = await api().put(TICKET).send({});
    assert.equal(res.status, 405);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.body.error.code, 'method_not_allowed');
    assert.match(res.headers.allow ?? '', /GET/);
    assert.match(res.body.error.message, /PUT is not allowed here; allowed: .*GET/);
  });

  it('answers a method the API does not know 501 not_implemented in JSON', async () => {
    const res = await api().propfind(TICKET);
    assert.equal(res.status, 501);
    assert.deepEqual(res.body, {
      error: { code: 'not_implemented', message: 'PROPFIND is not a method this API knows' },
    });
  });

  it('leaves the CORS preflight of a poll alone (no error body)', async () => {
    const res = await api().options(TICKET);
    assert.ok(res.status < 400, String(res.status));
    assert.equal(res.body.error, undefined);
  });
});
