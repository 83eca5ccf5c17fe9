import assert from 'node:assert/strict';
import { createServer, Agent, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SmsDeliveryError } from '../../src/sms/SmsDeliveryError';
import { TencentCloudSmsSender, type TencentCloudSmsSettings } from '../../src/sms/TencentCloudSmsSender';

const SETTINGS: TencentCloudSmsSettings = {
  secretId: 'AKIDtest',
  secretKey: 'test-secret-key',
  region: 'ap-guangzhou',
  sdkAppId: '1400000001',
  signName: '福建税务',
  templateId: '2000002',
  accountExistsTemplateId: '2000003',
};
const MESSAGE = {
  kind: 'code' as const,
  phone: '13812345678',
  code: '904417',
  purpose: 'bind' as const,
  text: 'ignored by Tencent Cloud',
};

/** A stand-in for sms.tencentcloudapi.com: records requests and answers with the next canned body. */
describe('sms/TencentCloudSmsSender', () => {
  let server: Server;
  let port: number;
  let requests: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[];
  let answer: { status: number; body: unknown };
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
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    agent.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    requests = [];
    answer = { status: 200, body: sendStatus('Ok') };
  });

  function sender(): TencentCloudSmsSender {
    return new TencentCloudSmsSender(SETTINGS, { endpoint: `127.0.0.1:${port}`, protocol: 'http://', agent });
  }

  function sendStatus(code: string): unknown {
    return {
      Response: {
        SendStatusSet: [
          {
            SerialNo: '1',
            PhoneNumber: '+8613812345678',
            Fee: 1,
            SessionContext: '',
            Code: code,
            Message: `status ${code} for +8613812345678`,
            IsoCode: 'CN',
          },
        ],
        RequestId: 'x',
      },
    };
  }

  it('sends SendSms with the app, sign, template, [code, minutes] and the +86 number, signed', async () => {
    await sender().send(MESSAGE);
    assert.equal(requests.length, 1);
    const [{ headers, body }] = requests as [(typeof requests)[0]];
    assert.equal(headers['x-tc-action'], 'SendSms');
    assert.equal(headers['x-tc-version'], '2021-01-11');
    assert.equal(headers['x-tc-region'], 'ap-guangzhou');
    assert.match(String(headers.authorization), /^TC3-HMAC-SHA256 Credential=AKIDtest\//);
    assert.deepEqual(body, {
      SmsSdkAppId: '1400000001',
      SignName: '福建税务',
      TemplateId: '2000002',
      TemplateParamSet: ['904417', '5'],
      PhoneNumberSet: ['+8613812345678'],
    });
  });

  it('sends the account-exists notice in its own template, without parameters', async () => {
    await sender().send({ kind: 'account_exists', phone: '13812345678', purpose: 'register', text: 'ignored' });
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0]!.body, {
      SmsSdkAppId: '1400000001',
      SignName: '福建税务',
      TemplateId: '2000003',
      TemplateParamSet: [],
      PhoneNumberSet: ['+8613812345678'],
    });
  });

  it('throws an error naming the status code, not the phone or the code, when the send status is not Ok', async () => {
    answer = { status: 200, body: sendStatus('LimitExceeded.PhoneNumberThirtySecondLimit') };
    const error = await sender()
      .send(MESSAGE)
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(error instanceof SmsDeliveryError);
    assert.equal(error.providerCode, 'LimitExceeded.PhoneNumberThirtySecondLimit');
    assert.match(error.message, /LimitExceeded\.PhoneNumberThirtySecondLimit/);
    assert.ok(!error.message.includes('13812345678') && !error.message.includes('904417'));
  });

  it('throws an error naming the API error code when the request itself is refused', async () => {
    answer = {
      status: 200,
      body: { Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'bad signature' }, RequestId: 'x' } },
    };
    await assert.rejects(
      sender().send(MESSAGE),
      (error: unknown) => error instanceof SmsDeliveryError && error.providerCode === 'AuthFailure.SignatureFailure',
    );
  });

  it('throws SmsDeliveryError when the service does not answer with 200', async () => {
    answer = { status: 502, body: {} };
    await assert.rejects(sender().send(MESSAGE), SmsDeliveryError);
  });
});
