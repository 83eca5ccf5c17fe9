import assert from 'node:assert/strict';
import request from 'supertest';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { text } from '../../src/wechat/Reply';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

describe('wechat: retried pushes across instances', () => {
  const instances: TestApp[] = [];
  const handled: string[] = [];
  const env = testEnvironment();

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const instance = await createTestApp();
      instance.deps.scenes.register('multi_', (scan) => {
        handled.push(`${i}:${scan.scene}`);
        return Promise.resolve(text('handled'));
      });
      instances.push(instance);
    }
    await resetState(instances[0]!.deps);
  });
  after(() => Promise.all(instances.map((i) => i.close())));

  it('handles one push delivered to three instances at once exactly once', async () => {
    const driver = new PushDriver({
      token: env.WECHAT_TOKEN!,
      appId: env.WECHAT_APPID!,
      encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
      mode: 'safe',
    });
    const push = driver.sign(driver.event('oMULTI000000000000000000000001', 'SCAN', 'multi_1'));
    const answers = await Promise.all(
      instances.map((instance) =>
        request(instance.app.callback())
          .post('/wechat')
          .query(push.query)
          .type('text/xml')
          .send(push.body)
          .then((r) => r),
      ),
    );
    assert.equal(handled.length, 1);
    assert.ok(answers.every((a) => a.status === 200));
    const contents = await Promise.all(answers.map((a) => driver.readReply(a.text)));
    assert.equal(contents.filter((c) => c?.Content === 'handled').length >= 1, true);
    assert.ok(contents.every((c) => c === null || c.Content === 'handled'));
  });
});
