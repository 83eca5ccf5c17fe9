import assert from 'node:assert/strict';
import type { AuditEventType } from '../../src/audit/AuditEvent';
import { SmsDeliveryError } from '../../src/sms/SmsDeliveryError';
import { SMS_NOT_DELIVERED } from '../../src/sms/smsSendMessages';
import { visibleText, type H5Client } from '../support/H5Client';
import { withStub } from '../support/withStub';
import { describeOnBothStacks } from './support/stacks';
import type { World } from './support/world';

/** The `detail.reason` of every audit row of `type`, oldest first. */
const reasons = async (w: World, type: AuditEventType) =>
  (await w.audit(type)).map((row) => (row.detail as { reason?: string } | null)?.reason);

/** 忘记密码's first step with a right (or the given) image captcha; its SMS goes out in the background. */
async function startReset(w: World, client: H5Client, realName: string, idNumber: string, captcha?: string) {
  const page = await client.open('/h5/password/forgot');
  const answer = await client.captcha('password-forgot');
  const res = await client.post('/h5/password/forgot', {
    _csrf: client.csrfToken(page.text),
    realName,
    idNumber,
    captcha: captcha ?? answer,
  });
  await w.t.deps.passwords.idle();
  return res;
}

const providerDown = (w: World, body: () => Promise<void>) =>
  withStub(
    w.t.deps.smsSender,
    'send',
    () => Promise.reject(new SmsDeliveryError('LimitExceeded', 'provider refused')),
    body,
  );

/**
 * 实名绑定, 实名注册 and 忘记密码 send their SMS codes through one step (src/sms/SmsCodeStep.ts): the
 * same captcha, quota and delivery-failure answers, and every refusal audited with the flow's own
 * failure event.
 */
describeOnBothStacks('security: one 获取验证码 step for 实名绑定, 实名注册 and 忘记密码', (w) => {
  it('V16.3.4: an SMS provider failure shows the same 502 短信发送失败 page on 实名绑定 and 实名注册, and is audited on all three flows', async () => {
    const taxpayer = await w.quickAccount();
    const binder = w.newUser();
    assert.equal((await w.bindLogin(binder, taxpayer.idNumber, taxpayer.password)).status, 302);
    const form = w.newForm();
    await providerDown(w, async () => {
      const bind = await w.requestBindSms(binder, taxpayer.phone);
      const register = await w.registerSms(w.newUser(), form);
      for (const res of [bind, register]) {
        assert.equal(res.status, 502);
        assert.ok(visibleText(res.text).includes(SMS_NOT_DELIVERED), visibleText(res.text));
      }
      // 忘记密码 answers as for any identity (a failure shown only for a match would tell that it has an account).
      const reset = await startReset(w, w.newUser(), taxpayer.account.realName, taxpayer.idNumber);
      assert.equal(reset.status, 302);
    });
    assert.deepEqual(await reasons(w, 'bind_failed'), ['sms_not_delivered']);
    assert.deepEqual(await reasons(w, 'register_failed'), ['sms_not_delivered']);
    assert.deepEqual(await reasons(w, 'password_reset_failed'), ['sms_not_delivered']);
    assert.equal(w.t.deps.smsOutbox!.forPhone(taxpayer.phone).length, 0);
  });

  it('V16.3.3: a quota refusal (a resend within 60 s) is refused with the same text and audited on all three flows', async () => {
    const bound = await w.quickAccount();
    const binder = w.newUser();
    assert.equal((await w.bindLogin(binder, bound.idNumber, bound.password)).status, 302);
    assert.equal((await w.requestBindSms(binder, bound.phone)).status, 302);
    const bindAgain = await w.requestBindSms(binder, bound.phone);

    const registrant = w.newUser();
    const form = w.newForm();
    assert.equal((await w.registerSms(registrant, form)).status, 200);
    const registerAgain = await w.registerSms(registrant, form);

    for (const res of [bindAgain, registerAgain]) {
      assert.equal(res.status, 429);
      assert.match(visibleText(res.text), /验证码已发送，请 \d+ 秒后再重新获取。/);
    }

    const recovering = await w.quickAccount('李四');
    // A second recovery of the same account within the minute, from another WeChat.
    assert.equal((await startReset(w, w.newUser(), '李四', recovering.idNumber)).status, 302);
    assert.equal((await startReset(w, w.newUser(), '李四', recovering.idNumber)).status, 302);

    assert.deepEqual(await reasons(w, 'bind_failed'), ['sms_resend_too_soon']);
    assert.deepEqual(await reasons(w, 'register_failed'), ['sms_resend_too_soon']);
    assert.deepEqual(await reasons(w, 'password_reset_failed'), ['sms_resend_too_soon']);
    for (const phone of [bound.phone, form.phone, recovering.phone])
      assert.equal(w.t.deps.smsOutbox!.forPhone(phone).length, 1, 'one SMS each');
  });

  it("V16.3.3: a wrong image captcha at 获取验证码 is refused and audited on all three flows, and spends that flow's captcha", async () => {
    const taxpayer = await w.quickAccount();
    const binder = w.newUser();
    assert.equal((await w.bindLogin(binder, taxpayer.idNumber, taxpayer.password)).status, 302);
    await binder.submit('/h5/bind', '/h5/bind/sms', { phone: taxpayer.phone, smsCode: '' });
    const captchaPage = await binder.open('/h5/bind/sms');
    const answer = await binder.captcha('bind-sms');
    const wrongBind = await binder.post('/h5/bind/sms/send', {
      _csrf: binder.csrfToken(captchaPage.text),
      captcha: 'ZZZZ',
    });
    const spentBind = await binder.post('/h5/bind/sms/send', {
      _csrf: binder.csrfToken(captchaPage.text),
      captcha: answer,
    });

    const registrant = w.newUser();
    const page = await registrant.open('/h5/register');
    await registrant.captcha('register');
    const wrongRegister = await registrant.post('/h5/register/sms', {
      _csrf: registrant.csrfToken(page.text),
      phone: w.newForm().phone,
      captcha: 'ZZZZ',
    });

    const wrongReset = await startReset(w, w.newUser(), taxpayer.account.realName, taxpayer.idNumber, 'ZZZZ');

    for (const res of [wrongBind, spentBind, wrongRegister, wrongReset]) {
      assert.equal(res.status, 400);
      assert.match(visibleText(res.text), /验证码错误，请重新输入/);
    }
    assert.deepEqual(await reasons(w, 'bind_failed'), ['captcha_wrong', 'captcha_wrong']);
    assert.deepEqual(await reasons(w, 'register_failed'), ['captcha_wrong']);
    assert.deepEqual(await reasons(w, 'password_reset_failed'), ['captcha_wrong']);
    assert.equal(w.t.deps.smsOutbox!.forPhone(taxpayer.phone).length, 0, 'nothing sent');
  });
});
