import assert from 'node:assert/strict';
import { visibleText } from '../support/H5Client';
import { describeOnBothStacks } from './support/stacks';

const MINUTE = 60_000;

/** A 6-digit code that is not `code`. */
const wrongFor = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describeOnBothStacks('security: an SMS code belongs to the WeChat user who asked for it (ASVS V6.6.3)', (w) => {
  it("V6.6.3: another WeChat's wrong 注册 posts with the victim's phone neither void nor count against the victim's 实名注册 code", async () => {
    const victim = w.newUser('受害人');
    const form = w.newForm();
    const csrf = await w.registerUpToSubmit(victim, form);
    const code = w.smsCodeFor(form.phone)!;

    const attacker = w.newUser('攻击者');
    const page = await attacker.open('/h5/register');
    const attackerForm = w.newForm({ phone: form.phone, realName: '王攻击' });
    for (let i = 0; i < 6; i++) {
      const res = await w.registerPost(attacker, attacker.csrfToken(page.text), attackerForm, wrongFor(code));
      assert.equal(res.status, 400, visibleText(res.text));
      assert.match(visibleText(res.text), /短信验证码已失效/, 'a stranger has no code to guess at');
    }
    // Not even the right code works for a WeChat that did not ask for it.
    const stolen = await w.registerPost(attacker, attacker.csrfToken(page.text), attackerForm, code);
    assert.equal(stolen.status, 400);

    const res = await w.registerPost(victim, csrf, form, code);
    assert.equal(res.status, 302, visibleText(res.text));
    assert.equal(res.headers.location, '/h5/register/done');
    assert.equal(await w.accounts().count(), 1);
  });

  it("V6.6.3: another WeChat logged in to the same account cannot void the owner's 实名绑定 code either", async () => {
    const taxpayer = await w.quickAccount();
    const owner = w.newUser('本人');
    const { csrf, code } = await w.bindUpToConfirm(owner, taxpayer);

    // Someone holding the password (not the phone) logs in from another WeChat and guesses.
    const intruder = w.newUser('他人');
    assert.equal((await w.bindLogin(intruder, taxpayer.idNumber, taxpayer.password)).status, 302);
    const page = await intruder.open('/h5/bind');
    for (let i = 0; i < 6; i++) {
      const res = await intruder.post('/h5/bind/confirm', {
        _csrf: intruder.csrfToken(page.text),
        phone: taxpayer.phone,
        smsCode: wrongFor(code),
      });
      assert.equal(res.status, 400, visibleText(res.text));
    }

    const res = await owner.post('/h5/bind/confirm', { _csrf: csrf, phone: taxpayer.phone, smsCode: code });
    assert.equal(res.status, 302, visibleText(res.text));
    assert.equal(res.headers.location, '/h5/bind/done');
    assert.equal((await w.bindings().findOneByOrFail({ openid: owner.openid })).accountId, taxpayer.account.id);
  });

  it("V6.6.3: the owner's own wrong tries still count: the 5th voids the code", async () => {
    const victim = w.newUser();
    const form = w.newForm();
    const csrf = await w.registerUpToSubmit(victim, form);
    const code = w.smsCodeFor(form.phone)!;
    for (let i = 0; i < 5; i++) assert.equal((await w.registerPost(victim, csrf, form, wrongFor(code))).status, 400);
    const right = await w.registerPost(victim, csrf, form, code);
    assert.match(visibleText(right.text), /短信验证码已失效/);
    assert.equal(await w.accounts().count(), 0);
  });

  it('V6.3.1: caps 注册 posts per WeChat user at 10 per 15 minutes (FormAttemptLimiter), new sessions included, audited once', async () => {
    const attacker = w.newUser();
    const page = await attacker.open('/h5/register');
    const form = w.newForm();
    const answers: number[] = [];
    for (let i = 0; i < 14; i++)
      answers.push((await w.registerPost(attacker, attacker.csrfToken(page.text), form, '000000')).status);
    assert.deepEqual(answers, [...Array<number>(10).fill(400), ...Array<number>(4).fill(429)]);

    const again = w.sameUser(attacker.openid);
    const csrf = await w.registerUpToSubmit(again, form);
    const refused = await w.registerPost(again, csrf, form, w.smsCodeFor(form.phone)!);
    assert.equal(refused.status, 429, 'even with the right code, from a new session of the same WeChat');
    assert.match(visibleText(refused.text), /尝试次数过多，请 \d+ 分钟后再试/);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    const reasons = (await w.audit('register_failed')).map((e) => (e.detail as { reason: string }).reason);
    assert.equal(reasons.filter((r) => r === 'too_many_attempts').length, 1);

    // The window over (the code long expired), a new code gets through.
    w.clock.advance(15 * MINUTE);
    const later = await w.registerFully(again, form);
    assert.equal(later.status, 302, visibleText(later.text));
  });
});
