import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, Agent, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/clock/Clock';
import type { IdentityClaim } from '../../src/registration/IdentityVerifier';
import { RateLimitedIdentityVerifier } from '../../src/registration/RateLimitedIdentityVerifier';
import {
  TencentCloudIdentityVerifier,
  type TencentCloudIdentitySettings,
} from '../../src/registration/TencentCloudIdentityVerifier';
import { PersonalDataProtector } from '../../src/security/PersonalDataProtector';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { createRedis, type Redis } from '../../src/store/createRedis';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';

const SETTINGS: TencentCloudIdentitySettings = {
  secretId: 'AKIDtest',
  secretKey: 'test-secret-key',
  region: 'ap-guangzhou',
  mode: 'three-element',
  protocol: 'http://',
  timeoutMs: 500,
};
const CLAIM: IdentityClaim = {
  realName: '张三',
  idNumber: '350102199003071234',
  phone: '13812345678',
  openid: 'o-identity-test',
  ip: '203.0.113.7',
};

/** A stand-in for faceid.tencentcloudapi.com: records requests, answers with the next canned body or hangs. */
describe('registration/TencentCloudIdentityVerifier', () => {
  let server: Server;
  let port: number;
  let requests: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[];
  let answer: { status: number; body: unknown } | 'hang';
  // An explicit agent, so an http_proxy in the environment cannot divert the SDK from the fake.
  const agent = new Agent();

  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk) => {
        raw += chunk;
      });
      req.on('end', () => {
        requests.push({ headers: req.headers, body: JSON.parse(raw) as Record<string, unknown> });
        if (answer === 'hang') return;
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    agent.destroy();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    requests = [];
    answer = result('0');
  });

  function verifier(mode: TencentCloudIdentitySettings['mode'] = 'three-element'): TencentCloudIdentityVerifier {
    return new TencentCloudIdentityVerifier({ ...SETTINGS, mode }, { endpoint: `127.0.0.1:${port}`, agent });
  }
  function result(code: string): { status: number; body: unknown } {
    return { status: 200, body: { Response: { Result: code, Description: `result ${code}`, RequestId: 'x' } } };
  }

  it('asks PhoneVerification (2018-03-01) with name, ID number and phone, signed, and accepts Result 0', async () => {
    assert.deepEqual(await verifier().verify(CLAIM), { ok: true, level: 'carrier_three_element' });
    assert.equal(requests.length, 1);
    const [{ headers, body }] = requests as [(typeof requests)[0]];
    assert.equal(headers['x-tc-action'], 'PhoneVerification');
    assert.equal(headers['x-tc-version'], '2018-03-01');
    assert.equal(headers['x-tc-region'], 'ap-guangzhou');
    // The SDK names the signed service after the endpoint's first label, so against 127.0.0.1 it is not "faceid".
    assert.match(String(headers.authorization), /^TC3-HMAC-SHA256 Credential=AKIDtest\/\d{4}-\d{2}-\d{2}\//);
    assert.deepEqual(body, { IdCard: CLAIM.idNumber, Name: CLAIM.realName, Phone: CLAIM.phone });
  });

  it('in two-element mode asks IdCardVerification with name and ID number only', async () => {
    assert.deepEqual(await verifier('two-element').verify(CLAIM), { ok: true, level: 'police_database' });
    const [{ headers, body }] = requests as [(typeof requests)[0]];
    assert.equal(headers['x-tc-action'], 'IdCardVerification');
    assert.deepEqual(body, { IdCard: CLAIM.idNumber, Name: CLAIM.realName });
  });

  it('refuses a three-element mismatch at the phone, and no record, with the result in the reason', async () => {
    answer = result('-4');
    const mismatch = await verifier().verify(CLAIM);
    assert.equal(mismatch.ok, false);
    assert.ok(!mismatch.ok && mismatch.field === 'phone' && /不属于同一人/.test(mismatch.message));
    assert.ok(!mismatch.ok && mismatch.reason === 'tencentcloud_phone_result_-4');
    answer = result('-9');
    const none = await verifier().verify(CLAIM);
    assert.ok(!none.ok && none.reason === 'tencentcloud_phone_result_-9' && /无此手机号码/.test(none.message));
  });

  it('maps every documented result code to a message and the field it concerns', async () => {
    const expected: [TencentCloudIdentitySettings['mode'], string, string][] = [
      ['three-element', '-6', 'phone'],
      ['three-element', '-7', 'idNumber'],
      ['three-element', '-8', 'realName'],
      ['three-element', '-11', 'form'],
      ['two-element', '-1', 'idNumber'],
      ['two-element', '-2', 'idNumber'],
      ['two-element', '-3', 'realName'],
      ['two-element', '-4', 'form'],
      ['two-element', '-5', 'idNumber'],
      ['two-element', '-6', 'form'],
      ['two-element', '-7', 'form'],
    ];
    for (const [mode, code, field] of expected) {
      answer = result(code);
      const verdict = await verifier(mode).verify(CLAIM);
      assert.ok(!verdict.ok, `${mode} ${code}`);
      assert.equal(verdict.field, field, `${mode} ${code}`);
      assert.ok(verdict.message.length > 0 && !verdict.message.includes(CLAIM.idNumber));
      assert.ok(verdict.reason.endsWith(`_result_${code}`), verdict.reason);
    }
  });

  it('refuses (never accepts) an unknown result, an API error and a hang past the timeout', async () => {
    answer = result('7');
    const unknown = await verifier().verify(CLAIM);
    assert.ok(!unknown.ok && unknown.reason === 'tencentcloud_phone_unknown_result' && unknown.field === 'form');

    answer = {
      status: 200,
      body: { Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'bad' }, RequestId: 'x' } },
    };
    const failed = await verifier().verify(CLAIM);
    assert.ok(
      !failed.ok && failed.reason === 'tencentcloud_phone_error_AuthFailure.SignatureFailure',
      JSON.stringify(failed),
    );

    answer = 'hang';
    const started = Date.now();
    const hung = await verifier().verify(CLAIM);
    assert.ok(!hung.ok && hung.field === 'form' && /稍后再试/.test(hung.message));
    assert.match(hung.ok ? '' : hung.reason, /^tencentcloud_phone_error_/);
    assert.ok(Date.now() - started < 3000, 'the timeout is a hard limit');
  });

  describe('daily limits in front of the paid call', () => {
    let redis: Redis;
    before(async () => {
      redis = createRedis(testRun.redisUrl, () => undefined);
      await redis.connect();
    });
    after(() => redis.close());

    function limited(limits: { perOpenid: number; perPhone: number; perIp: number }): RateLimitedIdentityVerifier {
      const keys = new RedisKeys(`${testRun.redisPrefix}identity-${randomBytes(6).toString('hex')}:`);
      return new RateLimitedIdentityVerifier(verifier(), {
        rateLimiter: new RedisRateLimiter(redis, keys, new ManualClock(Date.UTC(2031, 4, 1))),
        protector: new PersonalDataProtector(randomBytes(32)),
        limits,
      });
    }

    for (const [subject, limits, second] of [
      ['openid', { perOpenid: 1, perPhone: 9, perIp: 9 }, { ...CLAIM, phone: '13900000000', ip: '198.51.100.1' }],
      ['phone', { perOpenid: 9, perPhone: 1, perIp: 9 }, { ...CLAIM, openid: 'o-other', ip: '198.51.100.1' }],
      ['ip', { perOpenid: 9, perPhone: 9, perIp: 1 }, { ...CLAIM, openid: 'o-other', phone: '13900000000' }],
    ] as const) {
      it(`stops a second call for the same ${subject} on one day before it reaches Tencent Cloud`, async () => {
        const guarded = limited(limits);
        assert.equal((await guarded.verify(CLAIM)).ok, true);
        const refused = await guarded.verify(second);
        assert.ok(!refused.ok && refused.reason === `identity_rate_limited_${subject}`);
        assert.equal(requests.length, 1, 'the refused call was not sent');
      });
    }

    it('keys the phone counter by its keyed hash, never the number', async () => {
      const keys = new RedisKeys(`${testRun.redisPrefix}identity-${randomBytes(6).toString('hex')}:`);
      const guarded = new RateLimitedIdentityVerifier(verifier(), {
        rateLimiter: new RedisRateLimiter(redis, keys, new ManualClock(Date.UTC(2031, 4, 1))),
        protector: new PersonalDataProtector(randomBytes(32)),
        limits: { perOpenid: 5, perPhone: 5, perIp: 5 },
      });
      await guarded.verify(CLAIM);
      const written = await redis.keys(`${keys.prefix}*`);
      assert.ok(written.length > 0);
      for (const key of written) assert.ok(!key.includes(CLAIM.phone), key);
    });
  });
});
