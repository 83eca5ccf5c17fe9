import { CommonClient } from 'tencentcloud-sdk-nodejs-common';
import type { Config } from '../config/Config';
import type { IdentityClaim, IdentityVerdict, IdentityVerifier } from './IdentityVerifier';

export type TencentCloudIdentitySettings = NonNullable<Config['identity']['tencentcloud']>;
type ClientConfig = ConstructorParameters<typeof CommonClient>[2];
export type TencentCloudHttpProfile = NonNullable<NonNullable<ClientConfig['profile']>['httpProfile']>;

const API_VERSION = '2018-03-01';
const DEFAULT_ENDPOINT = 'faceid.tencentcloudapi.com';

type Refusal = Extract<IdentityVerdict, { ok: false }>;
const BUSY: Omit<Refusal, 'reason'> = {
  ok: false,
  field: 'form',
  message: '实名核验服务暂时不可用，请稍后再试',
};

/**
 * The documented `Result` codes of PhoneVerification (carrier 三要素). Only 0 and -4 are charged;
 * everything else is a refusal the taxpayer can act on or a service state worth retrying later.
 */
const PHONE_RESULTS: Record<string, Omit<Refusal, 'reason'>> = {
  '-4': { ok: false, field: 'phone', message: '姓名、身份证号码与手机号码不属于同一人，请使用本人实名登记的手机号码' },
  '-6': { ok: false, field: 'phone', message: '手机号码不合法' },
  '-7': { ok: false, field: 'idNumber', message: '身份证号码有误' },
  '-8': { ok: false, field: 'realName', message: '姓名校验不通过' },
  '-9': { ok: false, field: 'phone', message: '运营商无此手机号码的实名记录' },
  '-11': BUSY,
};

/** The documented `Result` codes of IdCardVerification (公安 二要素). Only 0 and -1 are charged. */
const ID_CARD_RESULTS: Record<string, Omit<Refusal, 'reason'>> = {
  '-1': { ok: false, field: 'idNumber', message: '姓名与身份证号码不一致' },
  '-2': { ok: false, field: 'idNumber', message: '身份证号码有误' },
  '-3': { ok: false, field: 'realName', message: '姓名校验不通过' },
  '-4': BUSY,
  '-5': { ok: false, field: 'idNumber', message: '证件库中无此身份证号码的记录' },
  '-6': BUSY,
  '-7': { ok: false, field: 'form', message: '今日实名核验次数已达上限，请明天再试' },
};

/**
 * Tencent Cloud 实名核身 (faceid, API 2018-03-01) through the SDK's common client. `three-element`
 * asks the carriers whether name, ID number and mobile number belong to one person (PhoneVerification);
 * `two-element` only asks the police database whether name and ID number match (IdCardVerification),
 * which does not tie the person to the phone the SMS code went to.
 *
 * A timeout, a transport or API error, or an unknown result refuses with a "try later" message, never ok.
 */
export class TencentCloudIdentityVerifier implements IdentityVerifier {
  private readonly client: CommonClient;

  /** `httpProfile` overrides where requests go (tests point it at a local fake). */
  constructor(
    private readonly settings: TencentCloudIdentitySettings,
    httpProfile: TencentCloudHttpProfile = {},
  ) {
    this.client = new CommonClient(settings.endpoint ?? DEFAULT_ENDPOINT, API_VERSION, {
      credential: { secretId: settings.secretId, secretKey: settings.secretKey },
      region: settings.region,
      profile: { httpProfile: { reqTimeout: settings.timeoutMs / 1000, protocol: settings.protocol, ...httpProfile } },
    });
  }

  async verify(claim: IdentityClaim): Promise<IdentityVerdict> {
    const threeElement = this.settings.mode === 'three-element';
    const [action, request, results] = threeElement
      ? ['PhoneVerification', { IdCard: claim.idNumber, Name: claim.realName, Phone: claim.phone }, PHONE_RESULTS]
      : ['IdCardVerification', { IdCard: claim.idNumber, Name: claim.realName }, ID_CARD_RESULTS];
    const prefix = `tencentcloud_${threeElement ? 'phone' : 'id_card'}`;
    let result: unknown;
    try {
      // The SDK's response type is untyped (library boundary): only `Result` is read from it.
      const response = (await this.client.request(action, request, {
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      })) as { Result?: unknown };
      result = response.Result;
    } catch (error) {
      // SDK errors carry Tencent's code (e.g. AuthFailure.SignatureFailure), never the claim.
      const code = (error as { code?: unknown; name?: unknown }).code;
      const name = (error as { name?: unknown }).name;
      const cause = typeof code === 'string' && code ? code : name === 'AbortError' ? 'timeout' : 'request_failed';
      return { ...BUSY, reason: `${prefix}_error_${cause}` };
    }
    if (result === '0') return { ok: true, level: threeElement ? 'carrier_three_element' : 'police_database' };
    const known = typeof result === 'string' ? results[result] : undefined;
    if (!known) return { ...BUSY, reason: `${prefix}_unknown_result` };
    return { ...known, reason: `${prefix}_result_${String(result)}` };
  }
}
