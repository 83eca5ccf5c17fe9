import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import Koa, { type Context } from 'koa';
import getRawBody from 'raw-body';

/** Someone the sandbox's carrier and police records know. */
export interface SandboxPerson {
  realName: string;
  /** 18 characters, upper-case X. */
  idNumber: string;
  phone: string;
}

/** How the next call misbehaves: another Result code, an API error (`Error.Code`), or no answer in time. */
export type FaceidFault = { result: string } | { errorCode: string } | { hangMs: number };

export interface FaceidCall {
  action: string;
  at: number;
}

const API_VERSION = '2018-03-01';

// The Description texts of the documented Result codes.
const PHONE_DESCRIPTIONS: Record<string, string> = {
  '0': '认证通过',
  '-4': '信息不一致（手机号已实名，但姓名和身份证号与实名信息不一致）',
  '-6': '手机号码不合法',
  '-7': '身份证号码有误',
  '-8': '姓名校验不通过',
  '-9': '没有记录',
  '-11': '验证中心服务繁忙',
};
const ID_CARD_DESCRIPTIONS: Record<string, string> = {
  '0': '姓名和身份证号一致',
  '-1': '姓名和身份证号不一致',
  '-2': '非法身份证号（长度、校验位等不正确）',
  '-3': '非法姓名（长度、格式等不正确）',
  '-4': '证件库服务异常',
  '-5': '证件库中无此身份证记录',
  '-6': '权威比对系统升级中，请稍后再试',
  '-7': '认证次数超过当日限制',
};

class FaceidApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A stand-in for faceid.tencentcloudapi.com (实名核身, API 2018-03-01) for the demo and tests:
 * PhoneVerification (carrier 三要素) and IdCardVerification (公安 二要素) with the documented request
 * and answer shapes, reached by the vendor's SDK over HTTP (TENCENTCLOUD_FACEID_URL pointing here).
 * Its records are the people enrolled; anyone else has no record. Faults queued by tests (other
 * results, API errors, hangs) apply to the next calls first.
 */
export class FaceidSandbox {
  readonly app = new Koa();
  readonly calls: FaceidCall[] = [];
  private readonly people = new Map<string, SandboxPerson>();
  private faults: FaceidFault[] = [];

  /** `secretId`: the one credential accepted, when set (the verifier's TENCENTCLOUD_SECRET_ID). */
  constructor(
    private readonly options: { secretId?: string; people?: readonly SandboxPerson[]; now?: () => number } = {},
  ) {
    for (const person of options.people ?? []) this.enrol(person);
    this.app.use((ctx) => this.handle(ctx));
  }

  enrol(person: SandboxPerson): void {
    this.people.set(person.idNumber, person);
  }

  failNext(fault: FaceidFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  /** Forgets queued faults and recorded calls; the enrolled people stay. */
  reset(): void {
    this.faults = [];
    this.calls.length = 0;
  }

  private async handle(ctx: Context): Promise<void> {
    const requestId = randomUUID();
    ctx.type = 'application/json';
    try {
      if (ctx.method !== 'POST' || ctx.path !== '/') throw new FaceidApiError('UnsupportedOperation', 'POST / only');
      const action = ctx.get('x-tc-action');
      this.checkSignatureShape(ctx);
      if (ctx.get('x-tc-version') !== API_VERSION)
        throw new FaceidApiError('NoSuchVersion', `the API version ${ctx.get('x-tc-version')} does not exist`);
      const params = await readParams(ctx);
      this.calls.push({ action, at: this.options.now?.() ?? Date.now() });
      const fault = this.faults.shift();
      if (fault && 'hangMs' in fault) await delay(fault.hangMs);
      if (fault && 'errorCode' in fault) throw new FaceidApiError(fault.errorCode, 'injected by the sandbox');
      const result = fault && 'result' in fault ? fault.result : this.answer(action, params);
      const descriptions = action === 'PhoneVerification' ? PHONE_DESCRIPTIONS : ID_CARD_DESCRIPTIONS;
      ctx.body = {
        Response: {
          Result: result,
          Description: descriptions[result] ?? '未知结果',
          ...(action === 'PhoneVerification' ? { Isp: '' } : {}),
          RequestId: requestId,
        },
      };
    } catch (error) {
      if (!(error instanceof FaceidApiError)) throw error;
      ctx.body = { Response: { Error: { Code: error.code, Message: error.message }, RequestId: requestId } };
    }
  }

  /** The TC3 header as the SDK writes it, with the configured SecretId. */
  private checkSignatureShape(ctx: Context): void {
    const credential =
      /^TC3-HMAC-SHA256 Credential=([^/]+)\/\d{4}-\d{2}-\d{2}\/[^/]+\/tc3_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(
        ctx.get('authorization'),
      );
    if (!credential)
      throw new FaceidApiError('AuthFailure.SignatureFailure', 'the request is not signed with TC3-HMAC-SHA256');
    if (this.options.secretId && credential[1] !== this.options.secretId)
      throw new FaceidApiError('AuthFailure.SecretIdNotFound', 'the SecretId does not exist');
  }

  private answer(action: string, params: Record<string, unknown>): string {
    const text = (name: string) => {
      const value = params[name];
      if (typeof value !== 'string') throw new FaceidApiError('MissingParameter', `the parameter ${name} is missing`);
      return value;
    };
    if (action === 'PhoneVerification') {
      const [idNumber, realName, phone] = [text('IdCard'), text('Name'), text('Phone')];
      if (!/^1[3-9]\d{9}$/.test(phone)) return '-6';
      if (!/^\d{17}[\dX]$/.test(idNumber)) return '-7';
      if (realName.trim() === '') return '-8';
      const holder = [...this.people.values()].find((person) => person.phone === phone);
      if (!holder) return '-9';
      return holder.idNumber === idNumber && holder.realName === realName ? '0' : '-4';
    }
    if (action === 'IdCardVerification') {
      const [idNumber, realName] = [text('IdCard'), text('Name')];
      if (!/^\d{17}[\dX]$/.test(idNumber)) return '-2';
      if (realName.trim() === '') return '-3';
      const person = this.people.get(idNumber);
      if (!person) return '-5';
      return person.realName === realName ? '0' : '-1';
    }
    throw new FaceidApiError('InvalidAction', `the action ${action} does not exist`);
  }
}

async function readParams(ctx: Context): Promise<Record<string, unknown>> {
  try {
    const parsed = JSON.parse(await getRawBody(ctx.req, { encoding: 'utf-8', limit: '64kb' })) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Answered below as Tencent answers a body it cannot read.
  }
  throw new FaceidApiError('InvalidParameter', 'the request body is not a JSON object');
}
