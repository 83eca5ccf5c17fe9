import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import request from 'supertest';
import { WechatBindingEntity } from '../../../src/binding/WechatBinding';
import { ManualClock } from '../../../src/clock/Clock';
import { PushDriver } from '../../../src/sandbox/PushDriver';
import { WeChatSimulator } from '../../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, type TestAccount } from '../../support/accountFixtures';
import { H5Client } from '../../support/H5Client';
import { redisEnvironment, type TestTopology } from '../../support/redisTopologies';
import { createTestApp, listen, resetState, type TestApp, type TestAppOptions } from '../../support/testApp';
import { testEnvironment } from '../../support/testEnv';
import { databaseUrlThrough, mysqlPort } from './MysqlAdmin';
import { PrivateRedis, type PrivateRedisOptions } from './PrivateRedis';
import { TcpProxy } from './TcpProxy';

export const env = testEnvironment();
export const PORTAL_KEY = `Bearer ${env.PORTAL_API_KEYS}`;

export interface RigOptions extends Omit<TestAppOptions, 'env' | 'clock'> {
  /** The private redis-server's settings; ignored with `topology`. */
  redis?: PrivateRedisOptions;
  /** A Sentinel or Cluster setup the test owns, instead of a private redis-server. */
  topology?: TestTopology;
  env?: Record<string, string | undefined>;
}

export interface CreatedTicket {
  ticketId: string;
  qrContent: string;
  expiresAt: string;
}

/**
 * The service under test in this process, wired to dependencies the test owns: a private
 * redis-server, a relay in front of MariaDB (this run's database), and the WeChat simulator on a
 * loopback port. Each fault test builds one and disposes of it.
 */
export class FaultRig {
  readonly driver: PushDriver;

  /** Further instances of the service on the same MariaDB and Redis (see addInstance). */
  readonly others: TestApp[] = [];

  private constructor(
    readonly clock: ManualClock,
    readonly sim: WeChatSimulator,
    private readonly simServer: Awaited<ReturnType<typeof listen>>,
    private readonly privateRedis: PrivateRedis | null,
    readonly mysql: TcpProxy,
    readonly t: TestApp,
    private readonly appOptions: TestAppOptions,
  ) {
    this.driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  }

  static async start(options: RigOptions = {}): Promise<FaultRig> {
    const clock = new ManualClock(Date.now());
    const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET!, clock });
    const simServer = await listen(sim.app);
    const redis = options.topology ? null : await PrivateRedis.start(options.redis);
    const mysql = await TcpProxy.start(mysqlPort());
    const { redis: _redis, topology, env: extraEnv, ...rest } = options;
    const appOptions: TestAppOptions = {
      ...rest,
      clock,
      env: {
        ...redisEnvironment(topology ? topology.topology : { kind: 'node', url: redis!.url }),
        DATABASE_URL: databaseUrlThrough(mysql.port),
        WECHAT_API_BASE: simServer.url,
        WECHAT_OPEN_BASE: simServer.url,
        WECHAT_MP_BASE: simServer.url,
        ...extraEnv,
      },
    };
    const t = await createTestApp(appOptions);
    await resetState(t.deps);
    return new FaultRig(clock, sim, simServer, redis, mysql, t, appOptions);
  }

  /** The private redis-server the rig started (not there when it runs on a test's topology). */
  get redis(): PrivateRedis {
    if (!this.privateRedis) throw new Error('this rig runs on a Sentinel or Cluster setup the test owns');
    return this.privateRedis;
  }

  /** One more instance of the service, as a second process would be: same config, own connections. */
  async addInstance(): Promise<TestApp> {
    const instance = await createTestApp(this.appOptions);
    this.others.push(instance);
    return instance;
  }

  get app(): Koa {
    return this.t.app;
  }

  get simulatorUrl(): string {
    return this.simServer.url;
  }

  api(instance: TestApp = this.t) {
    return request(instance.app.callback());
  }

  async dispose(): Promise<void> {
    // The dependencies may be down: closing must not wait for them.
    await Promise.allSettled([this.t, ...this.others].map((instance) => instance.close()));
    await Promise.allSettled([this.privateRedis?.dispose(), this.mysql.close(), this.simServer.close()]);
  }

  /** An account and a simulated WeChat user bound to it (written straight to MySQL). */
  async boundTaxpayer(realName = '王纳税'): Promise<{ taxpayer: TestAccount; openid: string }> {
    const taxpayer = await createTestAccount(this.t.deps, { realName });
    const { openid } = this.sim.createUser(realName);
    await this.t.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      accountId: taxpayer.account.id,
      openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(this.clock.now()),
    });
    return { taxpayer, openid };
  }

  phone(openid: string, instance: TestApp = this.t): H5Client {
    return new H5Client(instance.app, this.simServer.url, openid);
  }

  async createTicket(instance: TestApp = this.t): Promise<CreatedTicket> {
    const res = await this.api(instance)
      .post('/api/login/tickets')
      .set('Authorization', PORTAL_KEY)
      .send({ clientIp: '203.0.113.7' });
    assert.equal(res.status, 201, res.text);
    return res.body as CreatedTicket;
  }

  sceneOf(ticket: CreatedTicket): string {
    return this.sim.qrByUrl(ticket.qrContent)!.sceneStr!;
  }

  /** Delivers a push as WeChat would (one second after the previous one) and returns the HTTP answer. */
  async push(xml: (driver: PushDriver) => string, instance: TestApp = this.t): Promise<request.Response> {
    this.clock.advance(1000);
    const signed = this.driver.sign(xml(this.driver));
    return this.api(instance).post('/wechat').query(signed.query).type('text/xml').send(signed.body);
  }

  /** The text of a passive reply ('' for `success`). */
  async replyText(res: request.Response): Promise<string> {
    return (await this.driver.readReply(res.text))?.Content ?? '';
  }

  /** Scans the ticket's QR and returns the confirm link path from the reply. */
  async scan(
    openid: string,
    ticket: CreatedTicket,
    instance: TestApp = this.t,
  ): Promise<{ path: string; token: string }> {
    const res = await this.push((d) => d.event(openid, 'SCAN', this.sceneOf(ticket), { Ticket: 'T' }), instance);
    assert.equal(res.status, 200);
    const reply = await this.replyText(res);
    const link = /href="[^"]*(\/h5\/login\/confirm\?c=([0-9a-f]{48}))"/.exec(reply);
    assert.ok(link, `the scan reply has a confirm link: ${reply}`);
    return { path: link[1]!, token: link[2]! };
  }

  poll(ticketId: string, query = '', instance: TestApp = this.t) {
    return this.api(instance).get(`/api/login/tickets/${ticketId}${query}`);
  }

  redeem(ticketId: string, instance: TestApp = this.t) {
    return this.api(instance).post(`/api/login/tickets/${ticketId}/redeem`).set('Authorization', PORTAL_KEY);
  }

  async ready(instance: TestApp = this.t): Promise<boolean> {
    return (await this.api(instance).get('/readyz')).status === 200;
  }
}
