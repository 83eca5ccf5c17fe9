import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Menu, MenuButton } from '../../src/menu/Menu';
import { projectRoot } from '../../src/projectRoot';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { ReplyTemplates } from '../../src/wechat/ReplyTemplates';
import { createTestApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const ROOT = projectRoot();
const shipped = JSON.parse(readFileSync(path.join(ROOT, 'menus', 'menu.json'), 'utf8')) as Menu;
const leaves: MenuButton[] = shipped.button.flatMap((b) => b.sub_button ?? [b]);
const clickKeys = leaves.filter((b) => b.type === 'click').map((b) => b.key!);

describe('menu: every click of menus/menu.json has its reply', () => {
  it('has a template templates/replies/click/<KEY>.txt for every click key', () => {
    assert.ok(clickKeys.length >= 5, 'the menu has click buttons');
    const templates = new ReplyTemplates(path.join(ROOT, 'templates', 'replies'), { bindUrl: 'x', registerUrl: 'y' });
    for (const key of clickKeys) assert.ok(templates.has(`click/${key}`), `templates/replies/click/${key}.txt`);
  });

  describe('through the /wechat endpoint', () => {
    let t: TestApp;
    const env = testEnvironment();
    const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, mode: 'plain' });

    before(async () => {
      t = await createTestApp();
    });
    after(() => t.close());

    for (const key of clickKeys) {
      it(`answers CLICK ${key} with its own reply, not the general help`, async () => {
        const push = driver.sign(driver.event(`oMENU${randomUUID().replace(/-/g, '').slice(0, 23)}`, 'CLICK', key));
        const res = await request(t.app.callback()).post('/wechat').query(push.query).type('text/xml').send(push.body);
        assert.equal(res.status, 200);
        const reply = await driver.readReply(res.text);
        assert.equal(reply?.MsgType, 'text');
        const content = reply.Content!;
        assert.equal(content, t.deps.templates.render(`click/${key}`));
        assert.notEqual(content, t.deps.templates.render('help'));
        assert.doesNotMatch(content, /\{\{|\{%/, 'fully rendered');
        // A passive text reply is kept well under WeChat's (measured) 2048 bytes.
        assert.ok(Buffer.byteLength(content, 'utf8') <= 2048, `${key}: ${Buffer.byteLength(content, 'utf8')} bytes`);
        for (const [, href] of content.matchAll(/href="([^"]*)"/g)) {
          assert.ok(
            [`${t.deps.config.publicUrl}/h5/bind`, `${t.deps.config.publicUrl}/h5/register`].includes(href!),
            href,
          );
        }
      });
    }
  });
});
