// One product instance for the bench: the real buildDependencies + createApp from an environment the
// bench passes (src/config/loadConfig validates it), served by a plain http server on 127.0.0.1.
// Requests under /__bench/ never reach the app; they give the bench what a test harness needs
// (seed bound users, call LoginService.confirm as the confirm page does, count held long-polls).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import type { AddressInfo } from 'node:net';
import getRawBody from 'raw-body';
import { createApp } from '../src/app';
import { ManualClock } from '../src/clock/Clock';
import { AccountEntity, type Account } from '../src/accounts/Account';
import { BindingService } from '../src/binding/BindingService';
import { WechatBindingEntity, type WechatBinding } from '../src/binding/WechatBinding';
import { hashPassword } from '../src/security/passwords';
import { loadConfig } from '../src/config/loadConfig';
import { buildDependencies, closeDependencies, type Dependencies } from '../src/dependencies';
import { randomOpenId } from '../src/sandbox/simulator/randomStrings';
import { uniqueIdNumber, uniquePhone } from '../test/support/accountFixtures';
import { announceListening } from './lib/child';
import { HOST } from './lib/settings';

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await getRawBody(req, { encoding: 'utf-8', limit: '1mb' });
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function control(
  deps: Dependencies,
  manualClock: ManualClock | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  switch (`${req.method} ${url.pathname}`) {
    case 'POST /__bench/seed-users': {
      // Portal accounts, each bound to a WeChat openid: the "bound users" whose scans P1–P4 push.
      const count = Math.min(Number(url.searchParams.get('count') ?? 1), 1000);
      const bindingService = new BindingService({
        db: deps.db,
        audit: deps.audit,
        clock: deps.clock,
        logger: deps.logger,
        maxBindingsPerAccount: deps.config.maxBindingsPerAccount,
      });
      const openids: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const account = await deps.accounts.createAccount({
          realName: '张三',
          idNumber: uniqueIdNumber(),
          phone: uniquePhone(),
          password: 'Fj-tax-2025!',
        });
        const openid = randomOpenId(deps.config.wechat.appId);
        const bound = await bindingService.bind({
          openid,
          accountId: account.id,
          nickname: `bench${i}`,
          context: { ip: '127.0.0.1', userAgent: 'bench' },
        });
        if (!bound.ok) throw new Error(`binding failed: ${bound.reason}`);
        openids.push(openid);
      }
      send(res, 200, { openids });
      return;
    }
    case 'POST /__bench/seed-population': {
      // Bound accounts in bulk, so that every scan of a run can be another taxpayer's (bound-account
      // cache misses, the production case). Rows as createAccount and BindingService write them, but
      // inserted 1,000 at a time with one shared password hash: argon2 per account would take minutes.
      const count = Math.min(Number(url.searchParams.get('count') ?? 1), 100_000);
      const passwordHash = await hashPassword('Fj-tax-2025!');
      const now = new Date(deps.clock.now());
      const openids: string[] = [];
      for (let start = 0; start < count; start += 1000) {
        const accounts: Account[] = [];
        const bindings: WechatBinding[] = [];
        for (let i = start; i < Math.min(count, start + 1000); i += 1) {
          const idNumber = uniqueIdNumber();
          const phone = uniquePhone();
          const account: Account = {
            id: randomUUID(),
            loginName: null,
            passwordHash,
            realName: '张三',
            idNumberEncrypted: deps.protector.encrypt(idNumber),
            idNumberIndex: deps.protector.index('id_number', idNumber),
            phoneEncrypted: deps.protector.encrypt(phone),
            phoneIndex: deps.protector.index('phone', phone),
            createdAt: now,
          };
          const openid = randomOpenId(deps.config.wechat.appId);
          accounts.push(account);
          bindings.push({
            id: randomUUID(),
            accountId: account.id,
            openid,
            unionid: null,
            nickname: `taxpayer${i}`,
            subscribed: true,
            boundAt: now,
          });
          openids.push(openid);
        }
        await deps.db.getRepository(AccountEntity).insert(accounts);
        await deps.db.getRepository(WechatBindingEntity).insert(bindings);
      }
      send(res, 200, { openids });
      return;
    }
    case 'POST /__bench/bound-account-cache': {
      // Its size (every bound openid a scan looked up and stored), emptied first with ?clear=1.
      if (url.searchParams.get('clear') === '1') deps.boundAccounts.clear();
      send(res, 200, { size: deps.boundAccounts.size });
      return;
    }
    case 'POST /__bench/confirm': {
      // What POST /h5/login/confirm does once its session and CSRF checks passed.
      const body = await readJson(req);
      const outcome = await deps.login.confirm(String(body.confirmToken), String(body.openid), {
        ip: '127.0.0.1',
        userAgent: 'bench',
      });
      send(res, 200, outcome);
      return;
    }
    case 'GET /__bench/clock':
      // The monotonic clock in µs that V8 stamps --cpu-prof samples with, so a profile can be windowed.
      send(res, 200, { hrtimeUs: Number(process.hrtime.bigint() / 1000n) });
      return;
    case 'POST /__bench/manual-clock': {
      // The simulated day of P8/P9: the bench moves this instance's clock (and signs its pushes with it).
      if (!manualClock) return send(res, 409, { error: 'this instance runs on the system clock' });
      manualClock.set(Number(url.searchParams.get('set')));
      send(res, 200, { now: manualClock.now() });
      return;
    }
    case 'GET /__bench/stats':
      send(res, 200, { waiting: deps.ticketChanges.waiting, memory: process.memoryUsage(), pid: process.pid });
      return;
    case 'POST /__bench/gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        gc();
        gc();
      }
      send(res, 200, { gc: Boolean(gc), memory: process.memoryUsage() });
      return;
    }
    case 'POST /__bench/heap-snapshot': {
      // After a full GC, so the snapshot holds what is retained (for the P5 memory diagnosis).
      const label = (url.searchParams.get('label') ?? 'snapshot').replace(/[^a-z0-9-]/gi, '').slice(0, 40);
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const file = writeHeapSnapshot(path.join(tmpdir(), `etax-bench-${process.pid}-${label}.heapsnapshot`));
      send(res, 200, { file, memory: process.memoryUsage() });
      return;
    }
    default:
      send(res, 404, { error: 'no such bench control' });
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // BENCH_MANUAL_CLOCK=<epoch ms>: a clock only the bench moves, for the compressed-day scenarios.
  const manualClock = process.env.BENCH_MANUAL_CLOCK
    ? new ManualClock(Number(process.env.BENCH_MANUAL_CLOCK))
    : undefined;
  const deps = await buildDependencies(config, manualClock ? { clock: manualClock } : {});
  const app = createApp(deps);
  const handle = app.callback();
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/__bench/')) {
      control(deps, manualClock, req, res).catch((error: unknown) =>
        send(res, 500, { error: String((error as Error).stack ?? error) }),
      );
      return;
    }
    void handle(req, res);
  });
  // Long-polls may be held 30 s; keep Node's own timeouts out of the way of the app's.
  server.requestTimeout = 120_000;
  server.headersTimeout = 66_000;
  server.keepAliveTimeout = 65_000;
  server.listen(0, HOST, () => announceListening((server.address() as AddressInfo).port));

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      void closeDependencies(deps).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    deps.ticketChanges.releaseAll();
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`product server failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
