import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../src/clock/Clock';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

describe('sandbox/smsOutboxRoutes: GET /sandbox/sms', () => {
  describe('with SANDBOX=1', () => {
    let app: TestApp;
    const clock = new ManualClock(Date.UTC(2031, 4, 1, 8, 30));

    before(async () => {
      app = await createTestApp({ env: { SANDBOX: '1' }, clock });
      await resetState(app.deps);
    });
    after(() => app.close());

    it('lists the codes sent to that phone through the SMS code service, and only those', async () => {
      const { smsCodes } = app.deps;
      await smsCodes.send({ phone: '13812345678', purpose: 'bind', ip: '127.0.0.1', requester: 'o-sms-tester' });
      await smsCodes.send({ phone: '13912345678', purpose: 'register', ip: '127.0.0.1', requester: 'o-sms-tester' });
      const res = await request(app.app.callback()).get('/sandbox/sms').query({ phone: '13812345678' });
      assert.equal(res.status, 200);
      assert.equal(res.body.messages.length, 1);
      const [message] = res.body.messages;
      assert.equal(message.phone, '13812345678');
      assert.match(message.code, /^\d{6}$/);
      assert.ok(message.text.includes(message.code));
      assert.equal(message.sentAt, '2031-05-01T08:30:00.000Z');
      assert.equal(
        await smsCodes.verify({ phone: '13812345678', purpose: 'bind', code: message.code, requester: 'o-sms-tester' }),
        'ok',
      );
    });

    it('answers an empty list for a phone that got nothing', async () => {
      const res = await request(app.app.callback()).get('/sandbox/sms').query({ phone: '13700000000' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { messages: [] });
    });

    for (const [label, query] of [
      ['no phone', {}],
      ['a malformed phone', { phone: '1381234567' }],
      ['two phones', { phone: ['13812345678', '13912345678'] }],
    ] as const) {
      it(`answers 400 JSON for ${label}`, async () => {
        const res = await request(app.app.callback()).get('/sandbox/sms').query(query);
        assert.equal(res.status, 400);
        assert.equal(res.type, 'application/json');
        assert.equal(res.body.error.code, 'invalid_phone');
      });
    }
  });

  describe('with SANDBOX=0', () => {
    let app: TestApp;
    before(async () => {
      app = await createTestApp({ env: { SANDBOX: '0' } });
    });
    after(() => app.close());

    it('does not exist, and no outbox is kept', async () => {
      const res = await request(app.app.callback()).get('/sandbox/sms').query({ phone: '13812345678' });
      assert.equal(res.status, 404);
      assert.equal(app.deps.smsOutbox, null);
    });
  });
});
