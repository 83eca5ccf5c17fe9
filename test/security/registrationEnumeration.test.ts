import assert from 'node:assert/strict';
import { SANDBOX_PEOPLE } from '../../src/sandbox/faceid/sandboxPeople';
import { FaceidSandbox } from '../../src/sandbox/faceid/FaceidSandbox';
import { maskPhone } from '../../src/security/masking';
import { createTestAccount, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { visibleText, type H5Client } from '../support/H5Client';
import { listen } from '../support/testApp';
import { describeOnBothStacks } from './support/stacks';
import { World, type RegistrationForm } from './support/world';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A 6-digit code that is not `code`. */
const wrongFor = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

/** What legitimately differs between the answers for two phones: the phone itself and the CSRF token. */
const normalise = (html: string, phone: string) =>
  html
    .replaceAll(phone, 'PHONE')
    .replaceAll(maskPhone(phone), 'MASKED')
    .replace(/name="_csrf" value="[^"]+"/g, '');

describeOnBothStacks('security: 实名注册 tells nobody whether a phone is registered (ASVS V6.3.8)', (w) => {
  it('V6.3.8: 获取验证码 answers a registered phone exactly as an unregistered one (status, page, time); only the phone hears, by SMS', async () => {
    const registered = (await w.quickAccount()).phone;
    const idNumber = uniqueIdNumber();
    const times = { registered: [] as number[], unregistered: [] as number[] };
    const pages = { registered: new Set<string>(), unregistered: new Set<string>() };
    for (let round = 0; round < 4; round++) {
      // A fresh registered phone each round would need a fresh account; the resend gate moves on instead.
      w.clock.advance(61_000);
      for (const kind of ['registered', 'unregistered'] as const) {
        const phone = kind === 'registered' ? registered : uniquePhone();
        const client = w.newUser();
        const started = process.hrtime.bigint();
        const res = await w.registerSms(client, w.newForm({ idNumber, phone }));
        times[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
        assert.equal(res.status, 200, `${kind}: ${visibleText(res.text)}`);
        assert.match(visibleText(res.text), /验证码已发送至/);
        pages[kind].add(normalise(res.text, phone));
      }
    }
    assert.deepEqual([...pages.registered], [...pages.unregistered], 'the same page');
    const [slow, fast] = [median(times.registered), median(times.unregistered)];
    assert.ok(
      slow < fast * 3 && fast < slow * 3,
      `times of one kind: registered ${slow.toFixed(1)} ms, unregistered ${fast.toFixed(1)} ms`,
    );

    // The registered phone's holder learns it, and where to go; no code reaches that phone.
    const inbox = w.t.deps.smsOutbox!.forPhone(registered);
    assert.equal(inbox.length, 4);
    for (const sms of inbox) {
      assert.equal(sms.code, null);
      assert.match(sms.text, /该手机号码已注册实名账号.*实名绑定.*忘记密码/);
    }
    assert.deepEqual(await w.audit('register_failed'), [], 'no row on either path: a write would take time');
  });

  it('V6.3.8: 注册 with a registered phone answers any code as a wrong code, and the 5th try voids it, as for any phone', async () => {
    const registered = (await w.quickAccount()).phone;
    const idNumber = uniqueIdNumber();
    /** Six 注册 posts of `form` after its 获取验证码, each with a code the phone was not sent. */
    const answers = async (client: H5Client, form: RegistrationForm) => {
      const csrf = await w.registerUpToSubmit(client, form);
      const guess = wrongFor(w.smsCodeFor(form.phone) ?? '999999');
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await w.registerPost(client, csrf, form, guess);
        assert.equal(res.status, 400, visibleText(res.text));
        seen.push(normalise(res.text, form.phone));
      }
      return seen;
    };
    const onUnregistered = await answers(w.newUser(), w.newForm({ idNumber }));
    const onRegistered = await answers(w.newUser(), w.newForm({ idNumber, phone: registered }));
    assert.deepEqual(onRegistered, onUnregistered);
    assert.match(visibleText(onRegistered[0]!), /短信验证码错误/);
    assert.match(visibleText(onRegistered[5]!), /短信验证码已失效/);
    assert.equal(await w.accounts().count(), 1, 'nothing registered');
  });

  it('V6.3.8: the quotas answer alike too: a second 获取验证码 within 60 s is refused for both', async () => {
    const registered = (await w.quickAccount()).phone;
    for (const phone of [registered, uniquePhone()]) {
      const client = w.newUser();
      assert.equal((await w.registerSms(client, w.newForm({ phone }))).status, 200);
      const again = await w.registerSms(client, w.newForm({ phone }));
      assert.equal(again.status, 429);
      assert.match(visibleText(again.text), /秒后再重新获取/);
    }
  });

  it('a person who has the phone and no account yet still registers (the notice goes only to registered phones)', async () => {
    const form = w.newForm();
    const res = await w.registerFully(w.newUser(), form);
    assert.equal(res.status, 302, visibleText(res.text));
    assert.match(w.t.deps.smsOutbox!.forPhone(form.phone)[0]!.text, /您的验证码为\d{6}/);
  });
});

describe('security: 实名注册 says an ID number is registered only after the SMS code and 实名核身 (ASVS V6.3.8)', () => {
  const faceid = new FaceidSandbox({ secretId: 'AKIDenumeration', people: SANDBOX_PEOPLE });
  let faceidServer: Awaited<ReturnType<typeof listen>>;
  const env: Record<string, string> = {
    IDENTITY_VERIFIER: 'tencentcloud',
    TENCENTCLOUD_SECRET_ID: 'AKIDenumeration',
    TENCENTCLOUD_SECRET_KEY: 'enumeration-secret',
  };
  const w = new World({ env });
  const [person] = SANDBOX_PEOPLE as [(typeof SANDBOX_PEOPLE)[0]];

  before(async () => {
    faceidServer = await listen(faceid.app);
    env.TENCENTCLOUD_FACEID_URL = faceidServer.url;
    await w.start();
  });
  after(async () => {
    await w.stop();
    faceidServer.server.closeAllConnections();
    await faceidServer.close();
  });
  beforeEach(async () => {
    await w.reset();
    faceid.reset();
  });

  it("V6.3.8: a stranger typing a registered person's ID number with their own phone learns nothing: the SMS code, then 实名核身 refuse first", async () => {
    await createTestAccount(w.t.deps, { realName: person.realName, idNumber: person.idNumber, phone: uniquePhone() });
    const stranger = w.newUser('陌生人');
    // The stranger's own phone: not the person's, so 实名核身 has no record linking them.
    const form = w.newForm({ realName: person.realName, idNumber: person.idNumber, phone: '13700000002' });
    const csrf = await w.registerUpToSubmit(stranger, form);
    const code = w.smsCodeFor(form.phone)!;

    const wrongCode = await w.registerPost(stranger, csrf, form, wrongFor(code));
    assert.equal(wrongCode.status, 400);
    assert.match(visibleText(wrongCode.text), /短信验证码错误/);
    assert.doesNotMatch(visibleText(wrongCode.text), /已注册/);

    const verified = await w.registerPost(stranger, csrf, form, code);
    assert.equal(verified.status, 422, visibleText(verified.text));
    assert.match(visibleText(verified.text), /无此手机号码的实名记录/);
    assert.doesNotMatch(visibleText(verified.text), /已注册/);
  });

  it('V6.3.8: the person themself, with their own phone and its code, passes 实名核身 and is told the ID number is registered (pointing to 实名绑定)', async () => {
    await createTestAccount(w.t.deps, { realName: person.realName, idNumber: person.idNumber, phone: uniquePhone() });
    const owner = w.newUser('本人');
    const form = w.newForm({ realName: person.realName, idNumber: person.idNumber, phone: person.phone });
    const res = await w.registerFully(owner, form);
    assert.equal(res.status, 409, visibleText(res.text));
    assert.match(visibleText(res.text), /该身份证号码已注册实名账号.*实名绑定/);
    assert.deepEqual(
      faceid.calls.map((c) => c.action),
      ['PhoneVerification'],
    );
  });
});
