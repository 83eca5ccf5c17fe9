// tsx bench/stages.ts [--concurrency=64] [--seconds=3]
// (compiles itself with the servers and re-runs as plain node: tsx's loader hooks would tax mysql2's
// per-query require() and skew the MySQL stages.)
//
// A diagnostic beside `npm run bench`: times each stage of P1's path (a SCAN push of a bound user)
// in isolation, with the product's own objects (buildDependencies) against the real MariaDB and
// Redis, N operations in flight, in this one process. It shows which stage caps the full path and
// what each costs in this process's CPU. Private database and Redis prefix, removed at the end.
import { spawnSync } from 'node:child_process';
import { AuditEventEntity } from '../src/audit/AuditEvent';
import { performance } from 'node:perf_hooks';
import { createConnection } from 'mysql2/promise';
import { BindingService } from '../src/binding/BindingService';
import { loadConfig } from '../src/config/loadConfig';
import { buildDependencies, closeDependencies } from '../src/dependencies';
import { describeBrowser } from '../src/login/describeBrowser';
import type { LoginTicket } from '../src/login/LoginTicket';
import { newTicketIdentifiers } from '../src/login/ticketIdentifiers';
import { randomOpenId } from '../src/sandbox/simulator/randomStrings';
import { UNNAMED_PORTAL } from '../src/security/PortalKey';
import { text } from '../src/wechat/Reply';
import { ReplyWriter } from '../src/wechat/ReplyWriter';
import { pushDedupeKey } from '../src/wechat/pushDedupeKey';
import { uniqueIdNumber, uniquePhone } from '../test/support/accountFixtures';
import { buildServers, compiledPath, removeBuild } from './lib/build';
import { pidByName, startMeter } from './lib/meter';
import { PC_IP, PC_USER_AGENT, WECHAT, benchRun, productEnvironment } from './lib/settings';
import { percentile, round } from './lib/stats';
import { connectBenchRedis, createDatabase, deleteMatching, dropDatabase } from './lib/storage';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);

async function main(): Promise<void> {
  const concurrency = arg('concurrency', 64);
  const seconds = arg('seconds', 3);
  const run = benchRun();
  const redis = await connectBenchRedis(run);
  const admin = await createConnection({ uri: run.serverUrl });
  await createDatabase(run);
  const config = loadConfig({ ...productEnvironment(run, 'http://127.0.0.1:9', 'silent') });
  const deps = await buildDependencies(config);
  try {
    const bindingService = new BindingService({
      db: deps.db,
      audit: deps.audit,
      clock: deps.clock,
      logger: deps.logger,
      maxBindingsPerAccount: 1,
    });
    const users: { openid: string; accountId: string }[] = [];
    for (let i = 0; i < 16; i += 1) {
      const account = await deps.accounts.createAccount({
        realName: '张三',
        idNumber: uniqueIdNumber(),
        phone: uniquePhone(),
        password: 'Fj-tax-2025!',
      });
      const openid = randomOpenId(WECHAT.appId);
      await bindingService.bind({ openid, accountId: account.id, context: { ip: '127.0.0.1', userAgent: 'bench' } });
      users.push({ openid, accountId: account.id });
    }
    const newTicket = (): LoginTicket => {
      const ids = newTicketIdentifiers();
      const now = Date.now();
      return {
        ticketId: ids.ticketId,
        sceneStr: ids.sceneStr,
        confirmToken: ids.confirmToken,
        status: 'pending',
        createdAt: now,
        expiresAt: now + 300_000,
        clientIp: PC_IP,
        browser: describeBrowser(PC_USER_AGENT),
        portal: UNNAMED_PORTAL.name,
        portalDisplayName: UNNAMED_PORTAL.displayName,
      };
    };
    const writer = new ReplyWriter(WECHAT.token);
    let serial = 0;
    const mariadbPid = pidByName('mariadbd') ?? pidByName('mysqld');
    const redisPid = Number(/process_id:(\d+)/.exec(String(await redis.info('server')))?.[1]) || undefined;

    const stage = async (name: string, op: (i: number) => Promise<unknown>, prepare?: (n: number) => Promise<void>) => {
      if (prepare) await prepare(80_000);
      // Warm-up, then the measured window.
      const runFor = async (ms: number, record: number[] | null) => {
        const until = performance.now() + ms;
        let done = 0;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (performance.now() < until) {
              const i = serial++;
              const t = performance.now();
              await op(i);
              record?.push(performance.now() - t);
              done += 1;
            }
          }),
        );
        return done;
      };
      await runFor(500, null);
      const latencies: number[] = [];
      const stop = await startMeter({ node: process.pid, mariadb: mariadbPid, redis: redisPid }, admin, redis);
      const started = performance.now();
      const done = await runFor(seconds * 1000, latencies);
      const elapsed = (performance.now() - started) / 1000;
      const meter = await stop();
      const line = {
        stage: name,
        opsPerSec: round(done / elapsed, 0),
        p50: round(percentile(latencies, 50), 2),
        p99: round(percentile(latencies, 99), 2),
        cores: meter.cores,
        nodeCpuMsPerOp: round(((meter.cores.node ?? 0) * elapsed * 1000) / done, 3),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    };

    // Tickets are consumed by scans: a pool created beforehand, untimed.
    let pool: LoginTicket[] = [];
    let next = 0;
    const fill = async (n: number) => {
      pool = Array.from({ length: n }, newTicket);
      next = 0;
      for (let i = 0; i < pool.length; i += 500)
        await Promise.all(pool.slice(i, i + 500).map((t) => deps.stores.loginTickets.create(t)));
    };
    const user = (i: number) => users[i % users.length]!;
    const message = (i: number) => ({
      toUserName: WECHAT.accountId,
      fromUserName: user(i).openid,
      createTime: String(Math.floor(Date.now() / 1000)),
      msgType: 'event',
      event: 'SCAN',
      eventKey: `login_${i}`,
    });

    await stage('redis PING (one round trip)', () => redis.ping());
    await stage('dedupe claim + complete (SET NX, SET XX)', async (i) => {
      const key = pushDedupeKey(message(i));
      await deps.dedupe.claim(key, 300);
      await deps.dedupe.complete(key, '<xml/>');
    });
    await stage('mysql SELECT 1 (one round trip)', () => deps.db.query('SELECT 1'));
    await stage("bindings.findByOpenid (typeorm findOneBy: the scan's lookup before the cache)", (i) =>
      deps.bindings.findByOpenid(user(i).openid),
    );
    await stage('bindings.accountIdFor (one column: a cache miss)', (i) => deps.bindings.accountIdFor(user(i).openid));
    await stage("boundAccounts.accountIdFor (the scan's lookup: cache hits)", (i) =>
      deps.boundAccounts.accountIdFor(user(i).openid),
    );
    await stage("audit row by typeorm's repository insert, autocommit (the path before group commit)", (i) =>
      deps.db.getRepository(AuditEventEntity).insert({
        type: 'login_scanned',
        accountId: user(i).accountId,
        openid: user(i).openid,
        ip: null,
        userAgent: null,
        detail: { viaSubscribe: false },
        createdAt: new Date(),
      }),
    );
    await stage('audit.record login_scanned (group commit: rows in flight together share one INSERT)', (i) =>
      deps.audit.record({
        type: 'login_scanned',
        accountId: user(i).accountId,
        openid: user(i).openid,
        detail: { viaSubscribe: false },
      }),
    );
    await stage(
      'store.scan (one EVALSHA: CAS, publish, the ticket back)',
      async (i) => {
        const t = pool[next++ % pool.length]!;
        await deps.stores.loginTickets.scan(t.sceneStr, user(i).openid, user(i).accountId, Date.now());
      },
      fill,
    );
    await stage('reply: render template + write XML', () => {
      const content = deps.templates.render('login-confirm', {
        confirmUrl: `${config.publicUrl}/h5/login/confirm?c=${'a'.repeat(48)}`,
      });
      return Promise.resolve(writer.write(text(content), 'oUser', WECHAT.accountId, Math.floor(Date.now() / 1000)));
    });
    await stage(
      'LoginService.onScan (binding + scan + audit + reply text)',
      async (i) => {
        const t = pool[next++ % pool.length]!;
        await deps.login.onScan({ openid: user(i).openid, scene: t.sceneStr, viaSubscribe: false });
      },
      fill,
    );
    const replyFor = () =>
      writer.write(
        text(
          deps.templates.render('login-confirm', {
            confirmUrl: `${config.publicUrl}/h5/login/confirm?c=${'a'.repeat(48)}`,
          }),
        ),
        'oUser',
        WECHAT.accountId,
        Math.floor(Date.now() / 1000),
      );
    await stage(
      'the push handler: dedupe claim + onScan + reply + dedupe complete',
      async (i) => {
        const t = pool[next++ % pool.length]!;
        const key = pushDedupeKey(message(i));
        await deps.dedupe.claim(key, 300);
        await deps.login.onScan({ openid: user(i).openid, scene: t.sceneStr, viaSubscribe: false });
        await deps.dedupe.complete(key, replyFor());
      },
      fill,
    );
  } finally {
    await closeDependencies(deps);
    await deleteMatching(redis, run, `${run.redisPrefix}*`);
    await dropDatabase(run);
    await redis.quit();
    await admin.end();
  }
}

if (__filename.endsWith('.ts')) {
  buildServers((m) => process.stderr.write(`[stages] ${m}\n`));
  const child = spawnSync(process.execPath, [compiledPath('bench/stages.ts'), ...process.argv.slice(2)], {
    stdio: 'inherit',
    timeout: 1_800_000,
  });
  removeBuild();
  process.exit(child.status ?? 1);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
