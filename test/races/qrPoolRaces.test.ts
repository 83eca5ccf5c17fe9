import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../src/clock/Clock';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const KEY = `Bearer ${testEnvironment().PORTAL_API_KEYS}`;

describe('races: two instances leasing login QR scenes at once', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  let a: TestApp;
  let b: TestApp;

  before(async () => {
    // Two instances on one Redis prefix and one database; A keeps 10 idle scenes ready.
    a = await createTestApp({ clock, env: { ...wechat.env(), LOGIN_QR_WARM_IDLE: '10' } });
    b = await createTestApp({ clock, env: wechat.env() });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('never leases one scene twice: 40 tickets created at once on two instances get 40 distinct QR codes', async () => {
    await a.deps.qrPool.idle();
    await resetState(a.deps);
    wechat.sim.reset();
    a.deps.qrPool.warmUp();
    await a.deps.qrPool.idle();
    assert.equal((await a.deps.qrPool.budget()).scenes.idle, 10);
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        request((i % 2 === 0 ? a : b).app.callback())
          .post('/api/login/tickets')
          .set('Authorization', KEY)
          .send({}),
      ),
    );
    for (const res of created) assert.equal(res.status, 201, res.text);
    const contents = created.map((res) => (res.body as { qrContent: string }).qrContent);
    assert.equal(new Set(contents).size, 40, 'no QR code handed to two tickets');
    await a.deps.qrPool.idle();
    const { scenes } = await b.deps.qrPool.budget();
    assert.equal(scenes.leased, 40);
  });
});
