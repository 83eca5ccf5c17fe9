import assert from 'node:assert/strict';
import request from 'supertest';
import { AccountEntity } from '../../src/accounts/Account';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import type { IdentityVerifier } from '../../src/registration/IdentityVerifier';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, gb11643CheckCharacter, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { createTestApp, listen, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const PASSWORD = 'Fj-tax-2025!';
const LABELS: [string, string][] = [
  ['realName', '姓名'],
  ['idNumber', '身份证号码'],
  ['phone', '手机号码'],
  ['captcha', '验证码'],
  ['smsCode', '短信验证码'],
  ['password', '登录密码'],
  ['confirmPassword', '确认密码'],
];

interface Form {
  realName: string;
  idNumber: string;
  phone: string;
  password: string;
  confirmPassword?: string;
}

describe('registration: 实名注册 at /h5/register', () => {
  // 2026-11-29 10:00 in China; the tests below move it forward by an hour each.
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET!, clock });
  let simServer: Awaited<ReturnType<typeof listen>>;
  let t: TestApp;
  let user: H5Client;

  before(async () => {
    simServer = await listen(sim.app);
    t = await createTestApp({
      clock,
      env: { WECHAT_API_BASE: simServer.url, WECHAT_OPEN_BASE: simServer.url, WECHAT_MP_BASE: simServer.url },
    });
  });
  after(async () => {
    await t?.close();
    await simServer?.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    sim.reset();
    clock.advance(3600_000);
    user = newUser();
  });

  const newUser = (nickname = '新纳税人') => new H5Client(t.app, simServer.url, sim.createUser(nickname).openid);
  const accounts = () => t.deps.db.getRepository(AccountEntity);
  const bindings = () => t.deps.db.getRepository(WechatBindingEntity);
  const auditOf = (type: 'register' | 'register_failed' | 'bind') =>
    t.deps.db.getRepository(AuditEventEntity).findBy({ type });
  const smsCodeFor = (phone: string) => t.deps.smsOutbox!.forPhone(phone).at(-1)?.code;
  const newForm = (overrides: Partial<Form> = {}): Form => ({
    realName: '林小税',
    idNumber: uniqueIdNumber(),
    phone: uniquePhone(),
    password: PASSWORD,
    ...overrides,
  });
  const nothingStored = async () => {
    assert.equal(await accounts().count(), 0, 'no account');
    assert.equal(await bindings().count(), 0, 'no binding');
  };

  /** 获取验证码: the form as typed so far with the image captcha of the page. */
  async function requestSms(client: H5Client, form: Partial<Form>, captchaOverride?: string) {
    const page = await client.open('/h5/register');
    const captcha = await client.captcha('register');
    return client.post('/h5/register/sms', {
      _csrf: client.csrfToken(page.text),
      realName: form.realName ?? '',
      idNumber: form.idNumber ?? '',
      phone: form.phone ?? '',
      captcha: captchaOverride ?? captcha,
      smsCode: '',
      password: form.password ?? '',
      confirmPassword: form.confirmPassword ?? '',
    });
  }

  /** 注册 with the page's CSRF token (the page is opened for it). */
  async function submit(client: H5Client, form: Form, smsCode: string) {
    return client.submit('/h5/register', '/h5/register', {
      realName: form.realName,
      idNumber: form.idNumber,
      phone: form.phone,
      captcha: '',
      smsCode,
      password: form.password,
      confirmPassword: form.confirmPassword ?? form.password,
    });
  }

  async function registerFully(client: H5Client, form: Form) {
    const sent = await requestSms(client, form);
    assert.equal(sent.status, 200, visibleText(sent.text));
    return submit(client, form, smsCodeFor(form.phone.replace(/\D/g, '').slice(-11))!);
  }

  /** The message shown right below the field, tied to it by aria-describedby. */
  function fieldError(html: string, field: string): string | undefined {
    const message = new RegExp(`<div class="field-error" id="${field}-error" role="alert">([^<]*)</div>`).exec(
      html,
    )?.[1];
    if (message !== undefined)
      assert.match(
        html,
        new RegExp(`id="${field}"[^>]*aria-describedby="${field}-error"`),
        `${field} points at its message`,
      );
    return message;
  }

  it("shows the form with the seed's fields, each label tied to its input", async () => {
    const page = await user.open('/h5/register');
    assert.equal(page.status, 200);
    for (const [id, label] of LABELS) {
      assert.match(page.text, new RegExp(`<label class="weui-label" for="${id}">${label}</label>`), label);
      assert.match(page.text, new RegExp(`<input [^>]*id="${id}" name="${id}"`), id);
    }
    const text = visibleText(page.text);
    for (const button of ['获取验证码', '注册']) assert.ok(text.includes(button), button);
    assert.match(
      page.text,
      /<button type="submit" class="weui-btn weui-btn_default weui-vcode-btn" formaction="\/h5\/register\/sms"/,
    );
    assert.match(page.text, /<form method="post" action="\/h5\/register"/);
    assert.match(page.text, /src="\/h5\/captcha\?for=register"/);
  });

  it('registers: 获取验证码, then 注册; the account is created, this WeChat bound, and the success page says so', async () => {
    const idNumber = uniqueIdNumber({ endsWithX: true });
    const form = newForm({ realName: '阿依古丽•买买提', idNumber: idNumber.toLowerCase() });
    const sent = await requestSms(user, form);
    assert.equal(sent.status, 200);
    assert.match(visibleText(sent.text), /验证码已发送至 138\*\*\*\*\d{4}，5分钟内有效/);
    // The form comes back as typed, never with the password.
    assert.match(sent.text, new RegExp(`id="idNumber" name="idNumber" type="text" value="${idNumber.toLowerCase()}"`));
    assert.match(sent.text, /id="realName" name="realName" type="text" value="阿依古丽•买买提"/);
    assert.match(sent.text, /id="password" name="password" type="password" value=""/);
    assert.ok(!sent.text.includes(PASSWORD));
    const code = smsCodeFor(form.phone)!;
    assert.match(t.deps.smsOutbox!.forPhone(form.phone).at(-1)!.text, /实名注册/);

    const res = await user.post('/h5/register', {
      _csrf: user.csrfToken(sent.text),
      realName: form.realName,
      idNumber: form.idNumber,
      phone: form.phone,
      captcha: '',
      smsCode: code,
      password: PASSWORD,
      confirmPassword: PASSWORD,
    });
    assert.equal(res.status, 302, visibleText(res.text));
    assert.equal(res.headers.location, '/h5/register/done');

    const done = await user.open('/h5/register/done');
    const text = visibleText(done.text);
    assert.match(text, /注册成功/);
    assert.match(text, /登录账号 350\*{11}\d{3}X 姓名 阿依古丽·买买提/);
    assert.match(text, /登录账号为您的身份证号码/);
    assert.match(text, /本微信已绑定该账号/);
    assert.match(text, /微信扫码登录/);
    assert.ok(!done.text.includes(idNumber) && !done.text.includes(form.phone), 'numbers shown masked only');

    const account = await accounts().findOneByOrFail({ idNumberIndex: t.deps.protector.index('id_number', idNumber) });
    assert.equal(account.loginName, null, 'no ID number in clear as the login name');
    assert.equal(account.realName, '阿依古丽·买买提', 'the look-alike dot is stored as U+00B7');
    assert.equal(t.deps.protector.decrypt(account.idNumberEncrypted), idNumber, 'stored upper-case');
    assert.equal(t.deps.protector.decrypt(account.phoneEncrypted), form.phone);
    assert.ok(!account.passwordHash.includes(PASSWORD) && account.passwordHash.startsWith('$argon2id$'));
    const binding = await bindings().findOneByOrFail({ openid: user.openid });
    assert.equal(binding.accountId, account.id);
    const [event] = await auditOf('register');
    assert.equal(event?.accountId, account.id);
    assert.equal(event?.openid, user.openid);
    assert.equal((event?.detail as { verification?: string }).verification, 'format_only');
    await waitFor(() =>
      sim.outbox.some((m) => m.touser === user.openid && JSON.stringify(m.body).includes('实名注册成功')),
    );
    assert.ok(!JSON.stringify(sim.outbox).includes(idNumber), 'the message masks the ID number');

    // Coming back, the WeChat is shown its account instead of the form.
    const again = await user.open('/h5/register');
    assert.match(visibleText(again.text), /您的微信已绑定实名账号/);
    assert.doesNotMatch(again.text, /name="idNumber"/);
  });

  it('lets the registered account authenticate through POST /api/accounts/authenticate with the ID number or the phone', async () => {
    const idNumber = uniqueIdNumber({ endsWithX: true });
    const form = newForm({ idNumber });
    assert.equal((await registerFully(user, form)).status, 302);
    const api = (loginName: string, password = PASSWORD) =>
      request(t.app.callback())
        .post('/api/accounts/authenticate')
        .set('Authorization', `Bearer ${env.PORTAL_API_KEYS}`)
        .send({ loginName, password });
    const account = await accounts().findOneByOrFail({ idNumberIndex: t.deps.protector.index('id_number', idNumber) });
    for (const loginName of [idNumber, idNumber.toLowerCase(), form.phone]) {
      const res = await api(loginName);
      assert.equal(res.status, 200, `${loginName}: ${res.text}`);
      assert.equal(res.body.account.id, account.id);
      assert.equal(res.body.account.realName, '林小税');
      assert.equal(res.body.account.phoneMasked, `${form.phone.slice(0, 3)}****${form.phone.slice(-4)}`);
    }
    assert.equal((await api(idNumber, 'Wrong-password-1')).status, 401);
  });

  describe('valid ID numbers go through', () => {
    const withCheck = (first17: string) => first17 + gb11643CheckCharacter(first17);
    const cases: [string, string][] = [
      ['a check character X, typed lower-case', '11010519491231002x'],
      ['29 February of a leap year', withCheck('35010220240229123')],
      ['29 February 2000', withCheck('35012120000229456')],
      ["a birth date today (China's calendar day)", ''],
      ['Hong Kong (81)', withCheck('81000019900101001')],
    ];
    for (const [what, given] of cases) {
      it(`registers ${what}`, async () => {
        const today = new Date(clock.now() + 8 * 3600_000).toISOString().slice(0, 10).replaceAll('-', '');
        const idNumber = given || withCheck(`350102${today}001`);
        const res = await registerFully(user, newForm({ idNumber }));
        assert.equal(res.status, 302, visibleText(res.text));
        assert.equal(
          await accounts().countBy({ idNumberIndex: t.deps.protector.index('id_number', idNumber.toUpperCase()) }),
          1,
        );
      });
    }
  });

  describe('every refusal is shown next to its field and stores nothing', () => {
    const withCheck = (first17: string) => first17 + gb11643CheckCharacter(first17);
    const wrongCheck = (first17: string) => first17 + (gb11643CheckCharacter(first17) === '1' ? '2' : '1');
    const cases: [string, Partial<Form>, string, RegExp][] = [
      ['an empty ID number', { idNumber: '' }, 'idNumber', /^请输入身份证号码$/],
      ['a 17-character ID number', { idNumber: '35010219900101001' }, 'idNumber', /^身份证号码应为18位$/],
      ['a 15-digit (first-generation) ID number', { idNumber: '350102900101001' }, 'idNumber', /^身份证号码应为18位$/],
      ['an ID number with a letter inside', { idNumber: '3501021990A101001X' }, 'idNumber', /前17位应为数字/],
      ['a bad checksum', { idNumber: wrongCheck('35010219900101001') }, 'idNumber', /校验位不正确/],
      ['a bad province code (39)', { idNumber: withCheck('39010219900101001') }, 'idNumber', /省份代码/],
      ['a bad province code (00)', { idNumber: withCheck('00010219900101001') }, 'idNumber', /省份代码/],
      ['29 February of a common year', { idNumber: withCheck('35010220230229123') }, 'idNumber', /不是有效日期/],
      ['a birth date in the future', { idNumber: withCheck('35010220261231001') }, 'idNumber', /晚于今天/],
      ['month 13', { idNumber: withCheck('35010219901301001') }, 'idNumber', /不是有效日期/],
      ['an empty name', { realName: ' ' }, 'realName', /^请输入姓名$/],
      ['a name with digits', { realName: '林小税2' }, 'realName', /不能包含数字/],
      ['a name with a symbol', { realName: '林小税!' }, 'realName', /不能包含“!”/],
      ['a name starting with a dot', { realName: '·买买提' }, 'realName', /开头或结尾/],
      ['a name ending with a look-alike dot', { realName: '买买提．' }, 'realName', /开头或结尾/],
      ['a name with a doubled dot', { realName: '阿依古丽··买买提' }, 'realName', /不能连续使用/],
      ['a name of 101 characters', { realName: '林'.repeat(101) }, 'realName', /不能超过100个字/],
      ['an empty phone', { phone: '' }, 'phone', /^请输入手机号码$/],
      ['a landline', { phone: '0591-87654321' }, 'phone', /正确的11位手机号码/],
      ['a 10-digit phone', { phone: '1380013800' }, 'phone', /正确的11位手机号码/],
      ['a phone starting 12', { phone: '12800138000' }, 'phone', /正确的11位手机号码/],
      ['a short password', { password: 'Ab1!' }, 'password', /至少8位/],
      ['a password of 2 classes', { password: 'abcdefgh12' }, 'password', /至少3种/],
      [
        'a password containing the phone',
        { phone: '13912345678', password: 'Ab!13912345678' },
        'password',
        /不能包含手机号码/,
      ],
      [
        'a password containing the ID number',
        { idNumber: '11010519491231002X', password: 'Ab!11010519491231002x' },
        'password',
        /不能包含身份证号码/,
      ],
      ['a different 确认密码', { confirmPassword: 'Fj-tax-2025?' }, 'confirmPassword', /^两次输入的登录密码不一致$/],
      ['an empty 确认密码', { confirmPassword: '' }, 'confirmPassword', /^请再次输入登录密码$/],
    ];
    for (const [what, change, field, message] of cases) {
      it(`refuses ${what}`, async () => {
        const form = newForm(change);
        const res = await submit(
          user,
          { ...form, confirmPassword: 'confirmPassword' in change ? change.confirmPassword! : form.password },
          '123456',
        );
        assert.equal(res.status, 400);
        const shown = fieldError(res.text, field);
        assert.ok(shown, `a message next to ${field}: ${visibleText(res.text)}`);
        assert.match(shown, message);
        assert.ok(!res.text.includes(form.password) || form.password === '', 'passwords are never shown again');
        await nothingStored();
        const [failure] = await auditOf('register_failed');
        assert.deepEqual((failure?.detail as { fields?: string[] }).fields, [field]);
      });
    }
  });

  it('keeps the SMS code when only the format of another field is refused (the code is not spent)', async () => {
    const form = newForm();
    await requestSms(user, form);
    const code = smsCodeFor(form.phone)!;
    const refused = await submit(user, { ...form, confirmPassword: 'Other-pass-1' }, code);
    assert.equal(refused.status, 400);
    assert.match(refused.text, new RegExp(`id="smsCode" name="smsCode"[^>]*value="${code}"`));
    const ok = await submit(user, form, code);
    assert.equal(ok.status, 302);
  });

  describe('短信验证码', () => {
    it('refuses a missing or malformed code next to the field', async () => {
      const form = newForm();
      for (const [code, message] of [
        ['', /^请输入短信验证码$/],
        ['12345', /^短信验证码为6位数字$/],
        ['12a456', /^短信验证码为6位数字$/],
      ] as const) {
        const res = await submit(user, form, code);
        assert.equal(res.status, 400);
        assert.match(fieldError(res.text, 'smsCode')!, message);
      }
      await nothingStored();
    });

    it('refuses a wrong code, a code never sent, an expired one, and one sent to another phone', async () => {
      const form = newForm();
      const neverSent = await submit(user, form, '123456');
      assert.match(fieldError(neverSent.text, 'smsCode')!, /短信验证码已失效，请重新获取/);

      await requestSms(user, form);
      const code = smsCodeFor(form.phone)!;
      const wrong = await submit(user, form, code === '000000' ? '111111' : '000000');
      assert.equal(wrong.status, 400);
      assert.equal(fieldError(wrong.text, 'smsCode'), '短信验证码错误');

      const otherPhone = await submit(user, { ...form, phone: uniquePhone() }, code);
      assert.equal(otherPhone.status, 400);
      assert.match(fieldError(otherPhone.text, 'smsCode')!, /短信验证码已失效/);

      clock.advance(5 * 60_000 + 1000);
      const expired = await submit(user, form, code);
      assert.equal(expired.status, 400);
      assert.match(fieldError(expired.text, 'smsCode')!, /短信验证码已失效/);
      await nothingStored();
      const reasons = (await auditOf('register_failed')).map((e) => (e.detail as { reason: string }).reason);
      assert.ok(reasons.includes('sms_wrong') && reasons.includes('sms_expired'), reasons.join());
    });

    it('voids the code after 5 wrong tries', async () => {
      const form = newForm();
      await requestSms(user, form);
      const code = smsCodeFor(form.phone)!;
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5; i++) await submit(user, form, wrong);
      const right = await submit(user, form, code);
      assert.match(fieldError(right.text, 'smsCode')!, /已失效/);
      await nothingStored();
    });

    it('is used once: a second 注册 with the same code cannot create anything', async () => {
      const form = newForm();
      await requestSms(user, form);
      const code = smsCodeFor(form.phone)!;
      assert.equal((await submit(user, form, code)).status, 302);
      const other = newUser();
      const res = await submit(other, newForm({ phone: form.phone }), code);
      assert.equal(res.status, 400);
      assert.equal(await accounts().count(), 1);
    });
  });

  describe('获取验证码', () => {
    it('asks for the image captcha first and sends nothing without the right one', async () => {
      const form = newForm();
      const missing = await requestSms(user, form, '');
      assert.equal(missing.status, 400);
      assert.equal(fieldError(missing.text, 'captcha'), '请输入图形验证码');
      const wrong = await requestSms(user, form, 'WRONG');
      assert.equal(wrong.status, 400);
      assert.equal(fieldError(wrong.text, 'captcha'), '验证码错误，请重新输入');
      assert.equal(t.deps.smsOutbox!.forPhone(form.phone).length, 0);
      // The values typed so far come back; the passwords never.
      assert.match(wrong.text, new RegExp(`id="phone" name="phone" type="tel" value="${form.phone}"`));
      assert.match(wrong.text, new RegExp(`id="idNumber" name="idNumber" type="text" value="${form.idNumber}"`));
      assert.ok(!wrong.text.includes(PASSWORD));
    });

    it('spends the image captcha: the same answer cannot send twice', async () => {
      const form = newForm();
      const page = await user.open('/h5/register');
      const answer = await user.captcha('register');
      const base = {
        _csrf: user.csrfToken(page.text),
        realName: '',
        idNumber: '',
        phone: form.phone,
        smsCode: '',
        password: '',
        confirmPassword: '',
      };
      assert.equal((await user.post('/h5/register/sms', { ...base, captcha: answer })).status, 200);
      clock.advance(61_000);
      assert.equal((await user.post('/h5/register/sms', { ...base, captcha: answer })).status, 400);
      assert.equal(t.deps.smsOutbox!.forPhone(form.phone).length, 1);
    });

    it('refuses a malformed phone next to the field, sending nothing', async () => {
      const res = await requestSms(user, { phone: '1380013800' });
      assert.equal(res.status, 400);
      assert.equal(fieldError(res.text, 'phone'), '请输入正确的11位手机号码');
      assert.equal(t.deps.smsOutbox!.forPhone('1380013800').length, 0);
    });

    it('answers a phone that is already registered as any other, and sends it the account-exists notice instead of a code', async () => {
      const existing = await createTestAccount(t.deps);
      const res = await requestSms(user, { phone: existing.phone });
      assert.equal(res.status, 200);
      assert.equal(fieldError(res.text, 'phone'), undefined);
      assert.match(visibleText(res.text), /验证码已发送至/);
      const inbox = t.deps.smsOutbox!.forPhone(existing.phone);
      assert.equal(inbox.length, 1);
      assert.equal(inbox[0]!.code, null);
      assert.match(inbox[0]!.text, /该手机号码已注册实名账号.*实名绑定.*忘记密码/);
    });

    it('refuses a second code within 60 seconds and says when to retry', async () => {
      const form = newForm();
      assert.equal((await requestSms(user, form)).status, 200);
      const again = await requestSms(user, form);
      assert.equal(again.status, 429);
      assert.match(fieldError(again.text, 'smsCode')!, /秒后再重新获取/);
      assert.equal(t.deps.smsOutbox!.forPhone(form.phone).length, 1);
    });

    it('accepts the phone written with spaces or +86 and sends to the 11 digits', async () => {
      const phone = uniquePhone();
      const res = await requestSms(user, { phone: `+86 ${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}` });
      assert.equal(res.status, 200);
      assert.equal(t.deps.smsOutbox!.forPhone(phone).length, 1);
      assert.match(res.text, new RegExp(`id="phone" name="phone" type="tel" value="${phone}"`));
    });
  });

  describe('uniqueness', () => {
    it('refuses an ID number already registered (typed with a lower-case x), next to the field', async () => {
      const idNumber = uniqueIdNumber({ endsWithX: true });
      await createTestAccount(t.deps, { idNumber });
      const res = await registerFully(user, newForm({ idNumber: idNumber.toLowerCase() }));
      assert.equal(res.status, 409);
      assert.match(fieldError(res.text, 'idNumber')!, /该身份证号码已注册实名账号.*实名绑定/);
      assert.equal(await accounts().count(), 1);
      assert.equal(await bindings().count(), 0);
      const reasons = (await auditOf('register_failed')).map((e) => (e.detail as { reason: string }).reason);
      assert.deepEqual(reasons, ['id_number_taken']);
      assert.ok(!JSON.stringify(await auditOf('register_failed')).includes(idNumber), 'audit detail masked');
    });

    it('refuses a phone registered between 获取验证码 and 注册, next to the field', async () => {
      const form = newForm();
      await requestSms(user, form);
      await createTestAccount(t.deps, { phone: form.phone });
      const res = await submit(user, form, smsCodeFor(form.phone)!);
      assert.equal(res.status, 409);
      assert.match(fieldError(res.text, 'phone')!, /该手机号码已注册实名账号/);
      assert.equal(await accounts().count(), 1);
      assert.equal(await bindings().count(), 0);
    });

    it('lets exactly one of concurrent registrations of one ID number through', async () => {
      const idNumber = uniqueIdNumber();
      const clients = Array.from({ length: 4 }, (_, i) => newUser(`并发${i}`));
      const forms = clients.map(() => newForm({ idNumber }));
      const pages = await Promise.all(
        clients.map(async (client, i) => {
          const sent = await requestSms(client, forms[i]!);
          assert.equal(sent.status, 200);
          return sent.text;
        }),
      );
      const results = await Promise.all(
        clients.map((client, i) =>
          client.post('/h5/register', {
            _csrf: client.csrfToken(pages[i]!),
            ...forms[i]!,
            captcha: '',
            smsCode: smsCodeFor(forms[i]!.phone)!,
            confirmPassword: PASSWORD,
          }),
        ),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [302, 409, 409, 409]);
      for (const r of results.filter((x) => x.status === 409)) assert.match(fieldError(r.text, 'idNumber')!, /已注册/);
      assert.equal(await accounts().count(), 1);
      assert.equal(await bindings().count(), 1);
      const winner = clients[results.findIndex((r) => r.status === 302)]!;
      assert.equal(
        (await bindings().findOneByOrFail({ openid: winner.openid })).accountId,
        (await accounts().findOneByOrFail({ idNumberIndex: t.deps.protector.index('id_number', idNumber) })).id,
      );
    });
  });

  describe('a WeChat that is already bound', () => {
    it('is shown its account instead of the form, and cannot post a registration', async () => {
      const existing = await createTestAccount(t.deps, { realName: '王五' });
      const form = newForm();
      const sent = await requestSms(user, form);
      const bind = await t.deps.db.getRepository(WechatBindingEntity).insert({
        id: '00000000-0000-4000-8000-000000000001',
        accountId: existing.account.id,
        openid: user.openid,
        unionid: null,
        nickname: null,
        subscribed: true,
        boundAt: new Date(clock.now()),
      });
      assert.ok(bind);
      const page = await user.open('/h5/register');
      const text = visibleText(page.text);
      assert.match(text, /您的微信已绑定实名账号/);
      assert.match(text, /王五/);
      assert.match(text, new RegExp(`${existing.phone.slice(0, 3)}\\*\\*\\*\\*${existing.phone.slice(-4)}`));
      assert.doesNotMatch(page.text, /name="idNumber"/);
      assert.ok(!page.text.includes(existing.idNumber) && !page.text.includes(existing.phone));

      const res = await user.post('/h5/register', {
        _csrf: user.csrfToken(sent.text),
        ...form,
        captcha: '',
        smsCode: smsCodeFor(form.phone)!,
        confirmPassword: PASSWORD,
      });
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/h5/register');
      assert.equal(await accounts().count(), 1);
      const sms = await user.post('/h5/register/sms', {
        _csrf: user.csrfToken(sent.text),
        phone: uniquePhone(),
        captcha: 'X',
      });
      assert.equal(sms.status, 302);
    });

    it('after a registration elsewhere (another tab), ends on its account and leaves no second account', async () => {
      const first = newForm();
      const second = newForm();
      const sentFirst = await requestSms(user, first);
      clock.advance(1000);
      const sentSecond = await requestSms(user, second);
      assert.equal(
        (
          await user.post('/h5/register', {
            _csrf: user.csrfToken(sentFirst.text),
            ...first,
            captcha: '',
            smsCode: smsCodeFor(first.phone)!,
            confirmPassword: PASSWORD,
          })
        ).status,
        302,
      );
      const res = await user.post('/h5/register', {
        _csrf: user.csrfToken(sentSecond.text),
        ...second,
        captcha: '',
        smsCode: smsCodeFor(second.phone)!,
        confirmPassword: PASSWORD,
      });
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/h5/register');
      assert.equal(await accounts().count(), 1);
    });
  });

  it('refuses a POST without the CSRF token and stores nothing', async () => {
    const form = newForm();
    await user.open('/h5/register');
    const res = await user.post('/h5/register', { ...form, captcha: '', smsCode: '123456', confirmPassword: PASSWORD });
    assert.equal(res.status, 403);
    const sms = await user.post('/h5/register/sms', { phone: form.phone, captcha: 'ABCD' });
    assert.equal(sms.status, 403);
    await nothingStored();
    assert.equal(t.deps.smsOutbox!.forPhone(form.phone).length, 0);
  });

  it('sends a page without a session through WeChat OAuth first', async () => {
    const res = await user.agent.get('/h5/register');
    assert.equal(res.status, 302);
    assert.ok(res.headers.location!.startsWith(`${simServer.url}/connect/oauth2/authorize`));
    const page = await user.open('/h5/register');
    assert.equal(page.status, 200);
    assert.match(page.text, /name="idNumber"/);
  });

  it('sends /h5/register/done back to the form for a WeChat that is not bound', async () => {
    const res = await user.open('/h5/register/done');
    assert.equal(res.status, 200);
    assert.match(res.text, /name="idNumber"/);
  });

  it('registers even when WeChat refuses the customer-service message (best effort)', async () => {
    // Accepted, the notice is seen in the outbox once WeChat has answered it...
    const accepted = await registerFully(user, newForm());
    assert.equal(accepted.status, 302);
    await sim.answered('/message/custom/send', 1);
    assert.ok(
      sim.outbox.some((m) => m.touser === user.openid),
      'an accepted notice reaches the outbox',
    );

    // ...so once the refused one has been answered, its absence there means it was refused.
    const refusedUser = newUser();
    sim.failNext('/message/custom/send', {
      errcode: 45015,
      errmsg: 'response out of time limit or subscription is canceled',
    });
    const res = await registerFully(refusedUser, newForm());
    assert.equal(res.status, 302);
    assert.equal(await bindings().countBy({ openid: refusedUser.openid }), 1);
    await sim.answered('/message/custom/send', 2);
    assert.ok(!sim.outbox.some((m) => m.touser === refusedUser.openid), 'WeChat refused the message');
  });

  describe('with a real identity verifier plugged in', () => {
    let verified: TestApp;
    const refusing: IdentityVerifier = {
      verify: (claim) =>
        Promise.resolve(
          claim.realName === '冒名者'
            ? { ok: false, field: 'realName', message: '姓名与身份证号码不一致，请核对', reason: 'name_mismatch' }
            : { ok: true, level: 'police_database' },
        ),
    };
    before(async () => {
      verified = await createTestApp({
        clock,
        identityVerifier: refusing,
        env: { WECHAT_API_BASE: simServer.url, WECHAT_OPEN_BASE: simServer.url, WECHAT_MP_BASE: simServer.url },
      });
    });
    after(() => verified?.close());

    it('shows its refusal next to the field and stores nothing; records its level on success', async () => {
      const client = new H5Client(verified.app, simServer.url, sim.createUser('x').openid);
      const attempt = async (form: Form) => {
        const page = await client.open('/h5/register');
        const captcha = await client.captcha('register');
        const sent = await client.post('/h5/register/sms', {
          _csrf: client.csrfToken(page.text),
          ...form,
          captcha,
          smsCode: '',
          confirmPassword: '',
        });
        assert.equal(sent.status, 200);
        return client.post('/h5/register', {
          _csrf: client.csrfToken(sent.text),
          ...form,
          captcha: '',
          smsCode: verified.deps.smsOutbox!.forPhone(form.phone).at(-1)!.code!,
          confirmPassword: PASSWORD,
        });
      };
      const refused = await attempt(newForm({ realName: '冒名者' }));
      assert.equal(refused.status, 422);
      assert.equal(fieldError(refused.text, 'realName'), '姓名与身份证号码不一致，请核对');
      await nothingStored();

      const accepted = await attempt(newForm());
      assert.equal(accepted.status, 302);
      const [event] = await auditOf('register');
      assert.equal((event?.detail as { verification?: string }).verification, 'police_database');
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
