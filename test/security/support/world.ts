import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AccountEntity, type Account } from '../../../src/accounts/Account';
import { AuditEventEntity, type AuditEvent, type AuditEventType } from '../../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../../src/binding/WechatBinding';
import { ManualClock } from '../../../src/clock/Clock';
import type { Logger } from '../../../src/logging/createLogger';
import { hashPassword } from '../../../src/security/passwords';
import { PushDriver } from '../../../src/sandbox/PushDriver';
import { WeChatSimulator } from '../../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, uniqueIdNumber, uniquePhone, type TestAccount } from '../../support/accountFixtures';
import { H5Client, visibleText } from '../../support/H5Client';
import { createTestApp, listen, resetState, type TestApp } from '../../support/testApp';
import { testEnvironment } from '../../support/testEnv';

export const env = testEnvironment();
export const API_KEY = `Bearer ${env.PORTAL_API_KEYS}`;
export const PASSWORD = 'Fj-tax-2025!';
export const PC_BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

export interface CreatedTicket {
  ticketId: string;
  qrcodeUrl: string;
  qrContent: string;
  expiresAt: string;
  expiresIn: number;
}
export interface RegistrationForm {
  realName: string;
  idNumber: string;
  phone: string;
  password: string;
  confirmPassword?: string;
}

export interface WorldOptions {
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

/**
 * The real app on this run's MariaDB and Redis, with its own WeChat simulator on a loopback port
 * and a ManualClock, plus the flows the security, race and fuzz suites drive: 实名绑定, 实名注册,
 * 微信扫码登录 (pushes signed as WeChat signs them) and 微信解绑. One per describe():
 * `before(() => w.start())`, `after(() => w.stop())`, `beforeEach(() => w.reset())`.
 */
export class World {
  readonly clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  readonly sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET!, clock: this.clock });
  readonly driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock: this.clock });
  private simServer?: Awaited<ReturnType<typeof listen>>;
  private testApp?: TestApp;

  constructor(private readonly options: WorldOptions = {}) {}

  get t(): TestApp {
    assert.ok(this.testApp, 'World.start() first');
    return this.testApp;
  }

  get simUrl(): string {
    return this.simServer!.url;
  }

  async start(): Promise<void> {
    this.simServer = await listen(this.sim.app);
    const url = this.simServer.url;
    this.testApp = await createTestApp({
      clock: this.clock,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
      env: { WECHAT_API_BASE: url, WECHAT_OPEN_BASE: url, WECHAT_MP_BASE: url, ...this.options.env },
    });
  }

  async stop(): Promise<void> {
    await this.testApp?.close();
    await this.simServer?.close();
  }

  /** Empty tables and Redis keys, a fresh simulator, and the clock an hour on (new rate-limit windows). */
  async reset(): Promise<void> {
    await resetState(this.t.deps);
    this.sim.reset();
    this.clock.advance(3600_000);
  }

  api(): request.Agent {
    return request.agent(this.t.app.callback());
  }

  newUser(nickname = '纳税人'): H5Client {
    return new H5Client(this.t.app, this.simUrl, this.sim.createUser(nickname).openid);
  }

  /** A second browser (another session) of the same WeChat user. */
  sameUser(openid: string): H5Client {
    return new H5Client(this.t.app, this.simUrl, openid);
  }

  account(overrides: Parameters<typeof createTestAccount>[1] = {}): Promise<TestAccount> {
    return createTestAccount(this.t.deps, overrides);
  }

  private passwordHash?: Promise<string>;

  /**
   * An account stored exactly as AccountService stores one (encrypted and indexed ID and phone),
   * with the password PASSWORD, but without hashing it again: argon2id is slow on purpose, and the
   * race and fuzz suites need many accounts.
   */
  async quickAccount(realName = '张三'): Promise<TestAccount> {
    this.passwordHash ??= hashPassword(PASSWORD);
    const { protector } = this.t.deps;
    const idNumber = uniqueIdNumber();
    const phone = uniquePhone();
    const account: Account = {
      id: randomUUID(),
      loginName: null,
      passwordHash: await this.passwordHash,
      realName,
      idNumberEncrypted: protector.encrypt(idNumber),
      idNumberIndex: protector.index('id_number', idNumber),
      phoneEncrypted: protector.encrypt(phone),
      phoneIndex: protector.index('phone', phone),
      createdAt: new Date(this.clock.now()),
    };
    await this.accounts().insert(account);
    return { account, password: PASSWORD, idNumber, phone };
  }

  smsCodeFor(phone: string): string | undefined {
    return this.t.deps.smsOutbox!.forPhone(phone).at(-1)?.code ?? undefined;
  }

  accounts() {
    return this.t.deps.db.getRepository(AccountEntity);
  }

  bindings() {
    return this.t.deps.db.getRepository(WechatBindingEntity);
  }

  audit(type?: AuditEventType): Promise<AuditEvent[]> {
    const repository = this.t.deps.db.getRepository(AuditEventEntity);
    return type
      ? repository.find({ where: { type }, order: { id: 'ASC' } })
      : repository.find({ order: { id: 'ASC' } });
  }

  async insertBinding(openid: string, account: TestAccount): Promise<string> {
    const id = randomUUID();
    await this.bindings().insert({
      id,
      accountId: account.account.id,
      openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(this.clock.now()),
    });
    return id;
  }

  // ---- 实名绑定 ----

  /** Step 1 (登录) with the page's CSRF token and a fresh, right captcha unless one is given. */
  async bindLogin(client: H5Client, loginName: string, password: string, captcha?: string): Promise<request.Response> {
    const page = await client.open('/h5/bind');
    const answer = await client.captcha('bind-login');
    return client.post('/h5/bind/login', {
      _csrf: client.csrfToken(page.text),
      loginName,
      password,
      captcha: captcha ?? answer,
    });
  }

  /** 获取验证码 in step 2: the phone, then the image captcha of its own page, then the send. */
  async requestBindSms(client: H5Client, phone: string): Promise<request.Response> {
    const sms = await client.submit('/h5/bind', '/h5/bind/sms', { phone, smsCode: '' });
    assert.equal(sms.status, 302, visibleText(sms.text));
    const captchaPage = await client.open('/h5/bind/sms');
    const captcha = await client.captcha('bind-sms');
    return client.post('/h5/bind/sms/send', { _csrf: client.csrfToken(captchaPage.text), captcha });
  }

  /** Steps 1 and 2 up to the SMS code: what is left is 确定绑定 with `smsCodeFor(phone)`. */
  async bindUpToConfirm(client: H5Client, account: TestAccount): Promise<{ csrf: string; code: string }> {
    const login = await this.bindLogin(client, account.idNumber, account.password);
    assert.equal(login.status, 302, visibleText(login.text));
    const sent = await this.requestBindSms(client, account.phone);
    assert.equal(sent.status, 302, visibleText(sent.text));
    const page = await client.open('/h5/bind');
    return { csrf: client.csrfToken(page.text), code: this.smsCodeFor(account.phone)! };
  }

  async bindFully(client: H5Client, account: TestAccount): Promise<request.Response> {
    const { csrf, code } = await this.bindUpToConfirm(client, account);
    return client.post('/h5/bind/confirm', { _csrf: csrf, phone: account.phone, smsCode: code });
  }

  // ---- 实名注册 ----

  newForm(overrides: Partial<RegistrationForm> = {}): RegistrationForm {
    return { realName: '林小税', idNumber: uniqueIdNumber(), phone: uniquePhone(), password: PASSWORD, ...overrides };
  }

  /** 获取验证码 of the registration form, with the page's captcha. */
  async registerSms(client: H5Client, form: RegistrationForm): Promise<request.Response> {
    const page = await client.open('/h5/register');
    const captcha = await client.captcha('register');
    return client.post('/h5/register/sms', {
      _csrf: client.csrfToken(page.text),
      realName: form.realName,
      idNumber: form.idNumber,
      phone: form.phone,
      captcha,
      smsCode: '',
      password: form.password,
      confirmPassword: form.confirmPassword ?? form.password,
    });
  }

  /** 获取验证码, then the CSRF token to post 注册 with (the code is `smsCodeFor(form.phone)`). */
  async registerUpToSubmit(client: H5Client, form: RegistrationForm): Promise<string> {
    const sent = await this.registerSms(client, form);
    assert.equal(sent.status, 200, visibleText(sent.text));
    return client.csrfToken(sent.text);
  }

  registerPost(client: H5Client, csrf: string, form: RegistrationForm, smsCode: string): Promise<request.Response> {
    return client.post('/h5/register', {
      _csrf: csrf,
      realName: form.realName,
      idNumber: form.idNumber,
      phone: form.phone,
      captcha: '',
      smsCode,
      password: form.password,
      confirmPassword: form.confirmPassword ?? form.password,
    });
  }

  async registerFully(client: H5Client, form: RegistrationForm): Promise<request.Response> {
    const csrf = await this.registerUpToSubmit(client, form);
    return this.registerPost(client, csrf, form, this.smsCodeFor(form.phone)!);
  }

  // ---- 微信扫码登录 ----

  async createTicket(
    body: Record<string, string> = { clientIp: '203.0.113.7', userAgent: PC_BROWSER },
  ): Promise<CreatedTicket> {
    const res = await this.api().post('/api/login/tickets').set('Authorization', API_KEY).send(body);
    assert.equal(res.status, 201, res.text);
    return res.body as CreatedTicket;
  }

  sceneOf(ticket: CreatedTicket): string {
    return this.sim.qrByUrl(ticket.qrContent)!.sceneStr!;
  }

  /** A SCAN push (or subscribe with qrscene_) signed as WeChat signs it; returns the reply text. */
  async scan(openid: string, scene: string, viaSubscribe = false): Promise<string> {
    this.clock.advance(1000); // one push per second per user keeps retries and new scans apart
    const xml = viaSubscribe
      ? this.driver.event(openid, 'subscribe', `qrscene_${scene}`, { Ticket: 'T' })
      : this.driver.event(openid, 'SCAN', scene, { Ticket: 'T' });
    const push = this.driver.sign(xml);
    const res = await this.api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(res.status, 200);
    return (await this.driver.readReply(res.text))?.Content ?? '';
  }

  /** The confirm link of a scan reply: [path, confirmToken]. */
  confirmLink(reply: string): { path: string; token: string } {
    const match = /href="[^"]*(\/h5\/login\/confirm\?c=([0-9a-f]{48}))"/.exec(reply);
    assert.ok(match, `a confirm link in: ${reply}`);
    return { path: match[1]!, token: match[2]! };
  }

  poll(ticketId: string, query = ''): Promise<request.Response> {
    return this.api()
      .get(`/api/login/tickets/${ticketId}${query}`)
      .then((r) => r);
  }

  redeem(ticketId: string): Promise<request.Response> {
    return this.api()
      .post(`/api/login/tickets/${ticketId}/redeem`)
      .set('Authorization', API_KEY)
      .then((r) => r);
  }

  /** A scanned ticket of `openid` (bound to `account`), with the confirm page open on `phone`. */
  async scannedTicket(
    phone: H5Client,
    account: TestAccount,
  ): Promise<{ ticket: CreatedTicket; token: string; csrf: string }> {
    if (!(await this.bindings().findOneBy({ openid: phone.openid }))) await this.insertBinding(phone.openid, account);
    const ticket = await this.createTicket();
    const link = this.confirmLink(await this.scan(phone.openid, this.sceneOf(ticket)));
    const page = await phone.open(link.path);
    assert.equal(page.status, 200, visibleText(page.text));
    return { ticket, token: link.token, csrf: phone.csrfToken(page.text) };
  }
}
