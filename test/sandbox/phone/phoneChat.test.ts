import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/clock/Clock';
import { chatTimeline } from '../../../src/sandbox/phone/chatTimeline';
import { PhoneChatLog } from '../../../src/sandbox/phone/PhoneChatLog';
import { outboxChatMessage } from '../../../src/sandbox/phone/outboxChatMessage';
import { passiveReplyMessage } from '../../../src/sandbox/phone/passiveReplyMessage';
import { scannableQrCodes } from '../../../src/sandbox/phone/scannableQrCodes';
import { textSegments } from '../../../src/sandbox/phone/textSegments';
import { loginNoticeTemplate } from '../../../src/sandbox/simulator/loginNoticeTemplate';
import type { OutboxMessage, QrCode } from '../../../src/sandbox/simulator/WeChatSimulator';

describe('sandbox/phone: how the chat is drawn', () => {
  describe('textSegments', () => {
    it('turns <a href> into links and keeps the rest as typed', () => {
      assert.deepEqual(
        textSegments('请点击<a href="https://x.test/h5/bind?a=1&amp;b=2">实名绑定</a>；\n完成后 <b>再</b> 扫码'),
        [
          { text: '请点击' },
          { text: '实名绑定', href: 'https://x.test/h5/bind?a=1&b=2' },
          { text: '；\n完成后 <b>再</b> 扫码' },
        ],
      );
    });

    it('never makes a link of a javascript: or relative target', () => {
      for (const content of ['<a href="javascript:alert(1)">点我</a>', "<a href='/h5/bind'>点我</a>"]) {
        assert.deepEqual(textSegments(content), [{ text: content }]);
      }
    });
  });

  describe('chatTimeline', () => {
    it('merges the phone log with the outbox of this user only, by time, the phone first on a tie', () => {
      const clock = new ManualClock(1_000);
      const log = new PhoneChatLog(clock);
      log.add('oMe', { from: 'user', source: 'text', segments: [{ text: '你好' }] });
      clock.advance(10);
      log.add('oMe', { from: 'account', source: 'reply', segments: [{ text: '回复' }] });
      const outbox: OutboxMessage[] = [
        { kind: 'custom', touser: 'oMe', body: { msgtype: 'text', text: { content: '客服，更早' } }, at: 1_005 },
        { kind: 'custom', touser: 'oOther', body: { msgtype: 'text', text: { content: '别人的' } }, at: 1_006 },
        { kind: 'custom', touser: 'oMe', body: { msgtype: 'text', text: { content: '客服，同时' } }, at: 1_010 },
      ];
      const texts = chatTimeline('oMe', log.messagesOf('oMe'), outbox).map((m) =>
        m.segments.map((s) => s.text).join(''),
      );
      assert.deepEqual(texts, ['你好', '客服，更早', '回复', '客服，同时']);
    });
  });

  describe('account messages', () => {
    it('shows a template message as a card of its first line, keywords and remark', () => {
      const message: OutboxMessage = {
        kind: 'template',
        touser: 'oMe',
        at: 1,
        body: {
          template_id: 't',
          url: 'https://x.test/d',
          data: { first: { value: '绑定成功' }, keyword1: { value: '张*' }, remark: { value: '谢谢' } },
        },
      };
      assert.deepEqual(outboxChatMessage(message, 3), {
        id: 'outbox-3',
        at: 1,
        from: 'account',
        source: 'template',
        segments: [],
        card: { title: '绑定成功', description: '张*\n谢谢', url: 'https://x.test/d' },
      });
    });

    it('shows a template of 我的模板 as WeChat does: its title, each keyword with its label, values cut at 20 characters', () => {
      const template = loginNoticeTemplate('LoginTpl', { time: 'time1', method: 'thing2', region: 'thing4' });
      const message: OutboxMessage = {
        kind: 'template',
        touser: 'oMe',
        at: 1,
        body: {
          template_id: 'LoginTpl',
          url: 'https://x.test/h5/logins',
          data: {
            time1: { value: '2026年12月8日 10:15' },
            thing2: { value: '微信扫码' },
            thing4: { value: '一二三四五六七八九十一二三四五六七八九十多' },
            unused: { value: '不在模板里' },
          },
        },
      };
      const known = (id: string) => (id === 'LoginTpl' ? template : undefined);
      assert.deepEqual(outboxChatMessage(message, 0, known).card, {
        title: '账号登录提醒',
        description: '',
        fields: [
          { label: '登录时间', value: '2026年12月8日 10:15' },
          { label: '登录方式', value: '微信扫码' },
          { label: '登录地点', value: '一二三四五六七八九十一二三四五六七八九十…' },
        ],
        url: 'https://x.test/h5/logins',
      });
    });

    it('shows a news reply as a card and an unknown reply type as a label', () => {
      const news = passiveReplyMessage({
        MsgType: 'news',
        Articles: JSON.stringify({ item: { Title: '标题', Description: '描述', Url: 'https://x.test/a' } }),
      });
      assert.deepEqual(news.card, { title: '标题', description: '描述', url: 'https://x.test/a' });
      assert.deepEqual(passiveReplyMessage({ MsgType: 'image' }).segments, [{ text: '[image 消息]' }]);
    });
  });

  describe('scannableQrCodes', () => {
    it('lists live codes, the newest temporary one first, permanent ones last, expired ones not at all', () => {
      const code = (
        ticket: string,
        expiresAt: number | null,
        scene: Partial<QrCode> = { sceneStr: `login_${ticket}` },
      ): QrCode => ({
        ticket,
        url: `http://weixin.qq.com/q/${ticket}`,
        expiresAt,
        permanent: expiresAt === null,
        ...scene,
      });
      const codes = [code('old', 2_000), code('perm', null, { sceneId: 7 }), code('gone', 500), code('new', 3_000)];
      assert.deepEqual(
        scannableQrCodes(codes, 1_000).map((c) => [c.ticket, c.scene]),
        [
          ['new', 'login_new'],
          ['old', 'login_old'],
          ['perm', '7'],
        ],
      );
    });
  });
});
