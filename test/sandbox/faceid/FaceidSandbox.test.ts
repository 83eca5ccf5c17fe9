import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import type { IdentityClaim } from '../../../src/registration/IdentityVerifier';
import {
  TencentCloudIdentityVerifier,
  type TencentCloudIdentitySettings,
} from '../../../src/registration/TencentCloudIdentityVerifier';
import { FaceidSandbox } from '../../../src/sandbox/faceid/FaceidSandbox';
import { DEMO_REGISTRANT, SANDBOX_PEOPLE } from '../../../src/sandbox/faceid/sandboxPeople';
import { listen } from '../../support/testApp';

const SETTINGS: TencentCloudIdentitySettings = {
  secretId: 'AKIDsandbox',
  secretKey: 'sandbox-secret-key',
  region: 'ap-guangzhou',
  mode: 'three-element',
  protocol: 'http://',
  timeoutMs: 500,
};
const claimOf = (person: { realName: string; idNumber: string; phone: string }): IdentityClaim => ({
  ...person,
  openid: 'o-faceid-sandbox',
  ip: '203.0.113.8',
});

/** The stand-in answers the vendor's own SDK client (through our verifier) as faceid.tencentcloudapi.com would. */
describe('sandbox/faceid: the 实名核身 stand-in, reached through the Tencent Cloud SDK', () => {
  const sandbox = new FaceidSandbox({ secretId: SETTINGS.secretId, people: SANDBOX_PEOPLE });
  let server: Awaited<ReturnType<typeof listen>>;
  // An explicit agent, so an http_proxy in the environment cannot divert the SDK.
  const agent = new Agent();

  before(async () => {
    server = await listen(sandbox.app);
  });
  after(async () => {
    agent.destroy();
    server.server.closeAllConnections();
    await server.close();
  });
  beforeEach(() => sandbox.reset());

  const verifier = (overrides: Partial<TencentCloudIdentitySettings> = {}) =>
    new TencentCloudIdentityVerifier({ ...SETTINGS, ...overrides }, { endpoint: new URL(server.url).host, agent });

  it("confirms the demo's people with PhoneVerification and IdCardVerification", async () => {
    for (const person of SANDBOX_PEOPLE) {
      assert.deepEqual(await verifier().verify(claimOf(person)), { ok: true, level: 'carrier_three_element' });
      assert.deepEqual(await verifier({ mode: 'two-element' }).verify(claimOf(person)), {
        ok: true,
        level: 'police_database',
      });
    }
    assert.deepEqual(
      sandbox.calls.map((c) => c.action),
      ['PhoneVerification', 'IdCardVerification', 'PhoneVerification', 'IdCardVerification'],
    );
  });

  it('answers a mismatch (-4 / -1) and no record (-9 / -5) from its records', async () => {
    const otherId = SANDBOX_PEOPLE[0]!.idNumber;
    const mismatch = await verifier().verify(claimOf({ ...DEMO_REGISTRANT, idNumber: otherId }));
    assert.ok(!mismatch.ok && mismatch.reason === 'tencentcloud_phone_result_-4' && mismatch.field === 'phone');
    const stranger = await verifier().verify(claimOf({ ...DEMO_REGISTRANT, phone: '13700000001' }));
    assert.ok(!stranger.ok && stranger.reason === 'tencentcloud_phone_result_-9');
    const wrongName = await verifier({ mode: 'two-element' }).verify(
      claimOf({ ...DEMO_REGISTRANT, realName: '王旧税' }),
    );
    assert.ok(!wrongName.ok && wrongName.reason === 'tencentcloud_id_card_result_-1');
    const unknownId = await verifier({ mode: 'two-element' }).verify(
      claimOf({ ...DEMO_REGISTRANT, idNumber: '11010519491231002X' }),
    );
    assert.ok(!unknownId.ok && unknownId.reason === 'tencentcloud_id_card_result_-5');
  });

  it('plays queued faults: another result, an API error, and a hang past the hard timeout', async () => {
    sandbox.failNext({ result: '-11' });
    const busy = await verifier().verify(claimOf(DEMO_REGISTRANT));
    assert.ok(!busy.ok && busy.reason === 'tencentcloud_phone_result_-11' && /暂时不可用/.test(busy.message));
    sandbox.failNext({ errorCode: 'InternalError' });
    const error = await verifier().verify(claimOf(DEMO_REGISTRANT));
    assert.ok(!error.ok && error.reason === 'tencentcloud_phone_error_InternalError');
    sandbox.failNext({ hangMs: 2000 });
    const started = Date.now();
    const hung = await verifier().verify(claimOf(DEMO_REGISTRANT));
    assert.match(hung.ok ? '' : hung.reason, /^tencentcloud_phone_error_/);
    assert.ok(Date.now() - started < 1500, 'refused at the timeout, not when the sandbox answers');
    assert.deepEqual(await verifier().verify(claimOf(DEMO_REGISTRANT)), { ok: true, level: 'carrier_three_element' });
  });

  it('refuses another SecretId as Tencent does (AuthFailure), and the verifier fails closed', async () => {
    const refused = await verifier({ secretId: 'AKIDsomeoneelse' }).verify(claimOf(DEMO_REGISTRANT));
    assert.ok(!refused.ok && refused.reason === 'tencentcloud_phone_error_AuthFailure.SecretIdNotFound');
  });
});
