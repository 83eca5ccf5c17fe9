import assert from 'node:assert/strict';
import { FaceidSandbox, type FaceidFault } from '../../src/sandbox/faceid/FaceidSandbox';
import { SANDBOX_PEOPLE } from '../../src/sandbox/faceid/sandboxPeople';
import { redisOf, listen } from '../support/testApp';
import { scanKeys } from '../support/redisScan';
import { visibleText } from '../support/H5Client';
import { World, type RegistrationForm } from '../security/support/world';

/** The message shown below a field of the registration form, or above 注册 for the whole form. */
const fieldError = (html: string, field: string) =>
  (field === 'form'
    ? /<div class="field-error form-error" role="alert">([^<]*)<\/div>/
    : new RegExp(`<div class="field-error" id="${field}-error" role="alert">([^<]*)</div>`)
  ).exec(html)?.[1];

/**
 * 实名注册 with IDENTITY_VERIFIER=tencentcloud, the SDK talking over HTTP to the 实名核身 stand-in:
 * every refusal (mismatch, no record, timeout, service error) shows a clear page and leaves no row
 * and no half state; a confirmed identity registers.
 */
describe('registration: refused by 实名核身 (tencentcloud through the sandbox), nothing stored (ASVS V2.3.3)', () => {
  const faceid = new FaceidSandbox({ secretId: 'AKIDregistration', people: SANDBOX_PEOPLE });
  let faceidServer: Awaited<ReturnType<typeof listen>>;
  const env: Record<string, string> = {
    IDENTITY_VERIFIER: 'tencentcloud',
    TENCENTCLOUD_SECRET_ID: 'AKIDregistration',
    TENCENTCLOUD_SECRET_KEY: 'registration-secret',
    IDENTITY_VERIFIER_TIMEOUT_MS: '500',
  };
  const w = new World({ env });
  const [known, other] = SANDBOX_PEOPLE as [(typeof SANDBOX_PEOPLE)[0], (typeof SANDBOX_PEOPLE)[0]];

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

  const formOf = (person: { realName: string; idNumber: string; phone: string }): RegistrationForm =>
    w.newForm({ realName: person.realName, idNumber: person.idNumber, phone: person.phone });

  async function assertNothingStored(openid: string): Promise<void> {
    assert.equal(await w.accounts().count(), 0, 'no account');
    assert.equal(await w.bindings().count(), 0, 'no binding');
    assert.deepEqual(
      (await w.audit()).map((e) => e.type),
      ['register_failed'],
      'only the refusal is audited',
    );
    const pending: string[] = [];
    for await (const batch of scanKeys(redisOf(w.t.deps), `${w.t.deps.keys.prefix}binding*`)) pending.push(...batch);
    assert.deepEqual(pending, [], 'no binding state in Redis');
    assert.equal(await w.t.deps.bindings.findByOpenid(openid), null);
  }

  const refusals: [string, (form: RegistrationForm) => RegistrationForm, FaceidFault | null, string, RegExp, string][] =
    [
      [
        'a mismatch (name and ID are not the phone holder)',
        (f) => ({ ...f, idNumber: other.idNumber }),
        null,
        'phone',
        /不属于同一人/,
        'tencentcloud_phone_result_-4',
      ],
      [
        'no record for the phone',
        (f) => ({ ...f, phone: '13700000002' }),
        null,
        'phone',
        /无此手机号码的实名记录/,
        'tencentcloud_phone_result_-9',
      ],
      ['a timeout', (f) => f, { hangMs: 2000 }, 'form', /实名核验服务暂时不可用/, 'tencentcloud_phone_error_'],
      [
        'a service error',
        (f) => f,
        { errorCode: 'InternalError' },
        'form',
        /实名核验服务暂时不可用/,
        'tencentcloud_phone_error_InternalError',
      ],
    ];
  for (const [what, change, fault, field, message, reason] of refusals) {
    it(`V2.3.3: refuses ${what} with a clear page and leaves no rows and no half state`, async () => {
      const user = w.newUser();
      const form = change(formOf(known));
      const csrf = await w.registerUpToSubmit(user, form);
      if (fault) faceid.failNext(fault);
      const res = await w.registerPost(user, csrf, form, w.smsCodeFor(form.phone)!);
      assert.equal(res.status, 422, visibleText(res.text));
      assert.match(fieldError(res.text, field) ?? '', message);
      assert.match(res.text, /name="idNumber"/, 'the form is shown again');
      assert.deepEqual(
        faceid.calls.map((c) => c.action),
        ['PhoneVerification'],
      );
      await assertNothingStored(user.openid);
      const [event] = await w.audit('register_failed');
      const detail = event!.detail as { reason: string; detail: string };
      assert.equal(detail.reason, 'identity_refused');
      assert.ok(detail.detail.startsWith(reason), detail.detail);
      for (const secret of [form.idNumber, form.phone, form.realName])
        assert.ok(!JSON.stringify(event).includes(secret), 'the audit row holds no claim');
      // The WeChat is still unbound: 实名注册 offers its form again.
      assert.match((await user.open('/h5/register')).text, /name="idNumber"/);
    });
  }

  it('registers a person the records confirm (PhoneVerification answers 0)', async () => {
    const user = w.newUser();
    const res = await w.registerFully(user, formOf(known));
    assert.equal(res.headers.location, '/h5/register/done', visibleText(res.text));
    assert.equal(await w.accounts().count(), 1);
    assert.equal((await w.t.deps.bindings.findByOpenid(user.openid)) !== null, true);
    const [event] = await w.audit('register');
    assert.equal((event?.detail as { verification?: string }).verification, 'carrier_three_element');
  });
});
