import assert from 'node:assert/strict';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { ManualClock } from '../../src/clock/Clock';
import { SmsDeliveryError } from '../../src/sms/SmsDeliveryError';
import { SMS_NOT_DELIVERED } from '../../src/sms/smsSendMessages';
import { uniquePhone } from '../support/accountFixtures';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { withStub } from '../support/withStub';

/** The one 获取验证码 step: captcha spent, quotas, delivery failure, refusal texts, audit. */
describe('sms: SmsCodeStep', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  let t: TestApp;
  const audit = { type: 'password_reset_failed' as const, openid: 'oUSER', ip: '10.0.0.1', userAgent: 't' };
  const reasons = async () =>
    (await t.deps.db.getRepository(AuditEventEntity).find({ order: { id: 'ASC' } })).map(
      (row) => (row.detail as { reason: string }).reason,
    );

  before(async () => {
    t = await createTestApp({ clock });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
  });

  it('spends the captcha right or wrong, and refuses a missing or wrong one with the captcha field and an audit row', async () => {
    const scope = 'test-scope:password-forgot';
    const { answer } = await t.deps.captcha.issue(scope);
    assert.deepEqual(await t.deps.smsStep.spendCaptcha(scope, '', audit), {
      ok: false,
      reason: 'captcha_missing',
      field: 'captcha',
      message: '请输入图形验证码',
      status: 400,
    });
    const wrong = await t.deps.smsStep.spendCaptcha(scope, 'ZZZZ', audit);
    assert.equal(wrong?.reason, 'captcha_wrong');
    assert.equal(
      (await t.deps.smsStep.spendCaptcha(scope, answer, audit))?.reason,
      'captcha_wrong',
      'the wrong try spent it',
    );
    const fresh = await t.deps.captcha.issue(scope);
    assert.equal(await t.deps.smsStep.spendCaptcha(scope, fresh.answer, audit), null);
    assert.equal(
      (await t.deps.smsStep.spendCaptcha(scope, fresh.answer, audit))?.reason,
      'captcha_wrong',
      'single use',
    );
    assert.deepEqual(await reasons(), ['captcha_missing', 'captcha_wrong', 'captcha_wrong', 'captcha_wrong']);
  });

  it('sends, then refuses a resend within 60 s (429, the shared text), and audits the refusal', async () => {
    const phone = uniquePhone();
    const sent = await t.deps.smsStep.send({
      phone,
      purpose: 'password_reset',
      ip: '10.0.0.1',
      requester: 'openid-of-the-asker',
      audit,
    });
    assert.deepEqual(sent, {
      ok: true,
      phoneMasked: `${phone.slice(0, 3)}****${phone.slice(-4)}`,
      notice: `验证码已发送至 ${phone.slice(0, 3)}****${phone.slice(-4)}，5分钟内有效。`,
    });
    const again = await t.deps.smsStep.send({
      phone,
      purpose: 'password_reset',
      ip: '10.0.0.1',
      requester: 'openid-of-the-asker',
      audit,
    });
    assert.equal(again.ok, false);
    assert.ok(!again.ok);
    assert.equal(again.reason, 'sms_resend_too_soon');
    assert.equal(again.status, 429);
    assert.equal(again.field, 'smsCode');
    assert.match(again.message, /^验证码已发送，请 \d+ 秒后再重新获取。$/);
    assert.deepEqual(await reasons(), ['sms_resend_too_soon']);
  });

  it("sends 实名注册's account-exists notice in place of a code with the very same answer, and under the same quotas", async () => {
    const phone = uniquePhone();
    const request = {
      phone,
      purpose: 'register' as const,
      ip: '10.0.0.1',
      requester: 'openid-of-the-asker',
      audit,
      content: 'account_exists' as const,
    };
    const sent = await t.deps.smsStep.send(request);
    assert.deepEqual(sent, {
      ok: true,
      phoneMasked: `${phone.slice(0, 3)}****${phone.slice(-4)}`,
      notice: `验证码已发送至 ${phone.slice(0, 3)}****${phone.slice(-4)}，5分钟内有效。`,
    });
    const inbox = t.deps.smsOutbox!.forPhone(phone);
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.code, null);
    assert.match(inbox[0]!.text, /该手机号码已注册实名账号/);
    const again = await t.deps.smsStep.send(request);
    assert.ok(!again.ok);
    assert.equal(again.reason, 'sms_resend_too_soon');
    assert.deepEqual(await reasons(), ['sms_resend_too_soon']);
  });

  it('answers a provider failure with the shared 502 text and an audit row', async () => {
    await withStub(
      t.deps.smsSender,
      'send',
      () => Promise.reject(new SmsDeliveryError('LimitExceeded', 'provider refused')),
      async () => {
        const failed = await t.deps.smsStep.send({
          phone: uniquePhone(),
          purpose: 'bind',
          ip: '10.0.0.1',
          requester: 'openid-of-the-asker',
          audit,
        });
        assert.ok(!failed.ok);
        assert.equal(failed.status, 502);
        assert.equal(failed.message, SMS_NOT_DELIVERED);
      },
    );
    assert.deepEqual(await reasons(), ['sms_not_delivered']);
  });
});
