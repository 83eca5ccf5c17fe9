import { sms } from 'tencentcloud-sdk-nodejs-sms';
import type { Config } from '../config/Config';
import { SmsDeliveryError } from './SmsDeliveryError';
import type { SmsMessage, SmsSender } from './SmsSender';

export type TencentCloudSmsSettings = NonNullable<Config['sms']['tencentcloud']>;

type SmsClient = InstanceType<typeof sms.v20210111.Client>;
type ClientConfig = ConstructorParameters<typeof sms.v20210111.Client>[0];
export type TencentCloudHttpProfile = NonNullable<NonNullable<ClientConfig['profile']>['httpProfile']>;
type SendSmsRequest = Parameters<SmsClient['SendSms']>[0];

// The template's second parameter: minutes the code stays valid (SmsCodeService's 5 minutes).
const VALID_MINUTES = '5';
// Well under the SDK's 60 s default: a taxpayer is waiting on 获取验证码.
const REQUEST_TIMEOUT_SECONDS = 10;

/**
 * The SendSms request for one message, the number with +86: a code goes out in the code template
 * with parameters [code, minutes]; the account-exists notice in its own template, without parameters.
 */
export function sendSmsRequest(settings: TencentCloudSmsSettings, message: SmsMessage): SendSmsRequest {
  return {
    SmsSdkAppId: settings.sdkAppId,
    SignName: settings.signName,
    ...(message.kind === 'code'
      ? { TemplateId: settings.templateId, TemplateParamSet: [message.code, VALID_MINUTES] }
      : { TemplateId: settings.accountExistsTemplateId, TemplateParamSet: [] }),
    PhoneNumberSet: [`+86${message.phone}`],
  };
}

/** Tencent Cloud SMS (API 2021-01-11) through its official SDK. */
export class TencentCloudSmsSender implements SmsSender {
  private readonly client: SmsClient;

  /** `httpProfile` overrides where requests go (tests point it at a local fake). */
  constructor(
    private readonly settings: TencentCloudSmsSettings,
    httpProfile: TencentCloudHttpProfile = {},
  ) {
    this.client = new sms.v20210111.Client({
      credential: { secretId: settings.secretId, secretKey: settings.secretKey },
      region: settings.region,
      profile: { httpProfile: { reqTimeout: REQUEST_TIMEOUT_SECONDS, ...httpProfile } },
    });
  }

  async send(message: SmsMessage): Promise<void> {
    let response;
    try {
      response = await this.client.SendSms(sendSmsRequest(this.settings, message));
    } catch (error) {
      // SDK errors carry Tencent's error code (e.g. AuthFailure.SecretIdNotFound), never our request.
      const code = (error as { code?: unknown }).code;
      const providerCode = typeof code === 'string' && code ? code : 'RequestFailed';
      throw new SmsDeliveryError(providerCode, `Tencent Cloud SendSms failed: ${providerCode}`, { cause: error });
    }
    // One number per request, so one status; its Message is left out as it may quote the number.
    const status = response.SendStatusSet?.[0]?.Code ?? 'NoSendStatus';
    if (status !== 'Ok') throw new SmsDeliveryError(status, `Tencent Cloud SendSms refused the message: ${status}`);
  }
}
