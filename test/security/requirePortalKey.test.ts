import assert from 'node:assert/strict';
import Koa from 'koa';
import pino from 'pino';
import request from 'supertest';
import { errorHandler } from '../../src/http/errorHandler';
import { parsePortalKeys } from '../../src/config/portalKeysSetting';
import { requirePortalKey } from '../../src/security/requirePortalKey';

describe('security/requirePortalKey', () => {
  const app = new Koa();
  app.use(errorHandler(pino({ level: 'silent' })));
  app.use(
    requirePortalKey(
      parsePortalKeys('first-key-00000000000000000000000,second-key-111111111111111111111').keys,
      'login',
    ),
  );
  app.use((ctx) => {
    ctx.body = { passed: true };
  });
  const server = app.callback();

  it('lets through a request with any of the configured keys', async () => {
    for (const key of ['first-key-00000000000000000000000', 'second-key-111111111111111111111']) {
      const res = await request(server).get('/api/x').set('Authorization', `Bearer ${key}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { passed: true });
    }
  });

  const refused: [string, Record<string, string>][] = [
    ['no Authorization header', {}],
    ['an unknown key', { Authorization: 'Bearer third-key' }],
    ['a prefix of a key', { Authorization: 'Bearer first-key' }],
    ['a key with something appended', { Authorization: 'Bearer first-key-00000000000000000000000x' }],
    ['another scheme', { Authorization: 'Basic first-key-00000000000000000000000' }],
    ['an empty bearer', { Authorization: 'Bearer ' }],
  ];
  for (const [what, headers] of refused) {
    it(`refuses ${what} with 401 invalid_api_key and WWW-Authenticate: Bearer`, async () => {
      const res = await request(server).get('/api/x').set(headers);
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_api_key');
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer\b/);
    });
  }
});
