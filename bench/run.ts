// npm run bench [-- --quick] [-- --only=P1,P4] [-- --profile|--no-profile] [-- --log-level=info]
//
// Runs the benchmark scenarios (BENCHMARKS.md lists them) against the real MariaDB and Redis of this machine: a private
// database (migrated) and Redis key prefix for the run, removed at the end; the WeChat simulator
// and every product instance and baseline server as child processes on 127.0.0.1; autocannon as
// the load generator in this process. Writes bench/kept/<stamp>-<mode>-<commit>/results.{json,md}
// (committed) and the profiles and logs to bench/results/<stamp>-<mode>/ (ignored).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { killAllChildren, spawnServer, PROJECT_ROOT, type ChildServer } from './lib/child';
import { makeStarters, type BenchContext, type Settings } from './lib/context';
import { callJson } from './lib/http';
import { createConnection } from 'mysql2/promise';
import { buildServers, removeBuild } from './lib/build';
import { describeMachine } from './lib/machine';
import { pidByName, startMeter } from './lib/meter';
import { machineLine, resultsMarkdown, type Results } from './lib/report';
import { benchRun, PRODUCT_CONFIGURATION } from './lib/settings';
import { connectBenchRedis, createDatabase, deleteMatching, dropDatabase } from './lib/storage';
import { createTickets, type CreatedTicket } from './lib/tickets';
import { longPollScenario, ticketMemoryScenario } from './scenarios/memory';
import { startClusterBench, type ClusterBench } from './scenarios/cluster';
import { qrBudgetScenario, ticketCreationScenario } from './scenarios/qrBudget';
import { pushScenario, ticketReadScenario } from './scenarios/throughput';
import { tokenScenario } from './scenarios/tokens';
import { wakeScenario } from './scenarios/wake';

const SCENARIOS = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'P1C', 'P4C'] as const;
type ScenarioId = (typeof SCENARIOS)[number];

function parseArgs(argv: string[]): { settings: Settings; only: Set<ScenarioId> } {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = flag('quick');
  const known = new Set([
    'quick',
    'profile',
    'no-profile',
    'only',
    'log-level',
    'runs',
    'duration',
    'warmup',
    'quiet-wait',
    'logs',
    'help',
  ]);
  for (const arg of argv) {
    const name = /^--([a-z-]+)/.exec(arg)?.[1];
    if (!name || !known.has(name)) throw new Error(`unknown argument ${arg} (see the top of bench/run.ts)`);
  }
  if (flag('help')) {
    process.stdout.write(
      'npm run bench [-- --quick] [--only=P1,P3] [--profile|--no-profile] [--log-level=info] [--runs=3] [--duration=10] [--warmup=3] [--quiet-wait=120] [--logs]\n',
    );
    process.exit(0);
  }
  const only = new Set<ScenarioId>(
    (value('only')?.split(',') ?? [...SCENARIOS]).map((s) => {
      const id = s.trim().toUpperCase();
      if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`unknown scenario ${s}`);
      return id as ScenarioId;
    }),
  );
  const num = (name: string, fallback: number, max: number) => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}]`);
    return n;
  };
  return {
    only,
    settings: {
      quick,
      connections: 64,
      durationS: num('duration', quick ? 3 : 10, 60),
      warmupS: num('warmup', quick ? 1 : 3, 30),
      runs: Math.round(num('runs', quick ? 1 : 3, 9)),
      logLevel: value('log-level') ?? 'info',
      profile: flag('profile') ? 'always' : flag('no-profile') ? 'never' : quick ? 'never' : 'auto',
      quietWaitS: num('quiet-wait', quick ? 5 : 120, 600),
      keepLogs: flag('logs'),
    },
  };
}

async function main(): Promise<number> {
  const { settings, only } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const mode = settings.quick ? 'quick' : 'full';
  // A kept result names the code it measured; a dirty tree is said, not hidden.
  const commit = execFileSync('git', ['describe', '--always', '--dirty'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  }).trim();
  // Profiles and logs (large) stay in the ignored bench/results/; results.json and results.md of
  // every run go to bench/kept/, committed, so that every published figure can be traced to a run.
  const outDir = path.join(PROJECT_ROOT, 'bench', 'results', `${stamp}-${mode}`);
  const keptDir = path.join(PROJECT_ROOT, 'bench', 'kept', `${stamp}-${mode}-${commit}`);
  mkdirSync(path.join(outDir, 'logs'), { recursive: true });
  mkdirSync(keptDir, { recursive: true });
  const log = (message: string) =>
    process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

  const run = benchRun();
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    settings,
    benchRunId: run.id,
    commit,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    product: PRODUCT_CONFIGURATION,
    simulator:
      'separate child process (bench/simulatorServer.ts), shared by every product instance; SANDBOX=0 in the product',
    errors: [],
  };
  const servers: ChildServer[] = [];
  let cluster: ClusterBench | undefined;
  const redis = await connectBenchRedis(run);
  const admin = await createConnection({ uri: run.serverUrl, connectTimeout: 3000 });
  let databaseCreated = false;
  const cleanUp = async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await cluster?.stop().catch((e: unknown) => log(`could not stop the Redis Cluster: ${String(e)}`));
    await deleteMatching(redis, run, `${run.redisPrefix}*`).catch((e: unknown) =>
      log(`could not delete the run's Redis keys: ${String(e)}`),
    );
    if (databaseCreated)
      await dropDatabase(run).catch((e: unknown) => log(`could not drop ${run.databaseName}: ${String(e)}`));
    await redis.quit().catch(() => undefined);
    await admin.end().catch(() => undefined);
    removeBuild();
  };
  const interrupted = () => {
    log("interrupted: stopping the servers and removing the run's database and keys");
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    results.machine = await describeMachine(redis, run.serverUrl);
    log(`machine: ${machineLine(results.machine)}`);
    log(
      `run ${run.id}: database ${run.databaseName}, Redis prefix ${run.redisPrefix}; results in ${path.relative(PROJECT_ROOT, keptDir)}, profiles and logs in ${path.relative(PROJECT_ROOT, outDir)}`,
    );
    buildServers(log);
    await createDatabase(run);
    databaseCreated = true;

    const simulator = await spawnServer({
      name: 'simulator',
      file: 'bench/simulatorServer.ts',
      env: {},
      stderrFile: path.join(outDir, 'logs', 'simulator.stderr.log'),
    });
    servers.push(simulator);
    const starters = makeStarters(
      run,
      outDir,
      settings,
      () => simulator.url,
      (s) => servers.push(s),
    );
    const product = await starters.startProduct('A');
    const seeded = await callJson<{ openids: string[] }>(
      'POST',
      `${product.url}/__bench/seed-users?count=${settings.quick ? 8 : 32}`,
    );
    const redisPid = Number(/process_id:(\d+)/.exec(String(await redis.info('server')))?.[1]) || undefined;
    const mariadbPid = pidByName('mariadbd') ?? pidByName('mysqld');
    const meter = (extra: Record<string, number>) =>
      startMeter(
        {
          loadgen: process.pid,
          simulator: simulator.pid,
          mariadb: mariadbPid,
          redis: redisPid,
          ...extra,
        },
        admin,
        redis,
      );
    let population: Promise<string[]> | undefined;
    const ctx: BenchContext = {
      settings,
      run,
      redis,
      admin,
      meter,
      simulator,
      product,
      openids: seeded.openids,
      // As many as the bound-account cache holds (50,000): a run's scans are each another's, and no
      // entry of the run is dropped for space before the run ends.
      population: () =>
        (population ??= (async () => {
          const openids: string[] = [];
          while (openids.length < (settings.quick ? 5000 : 50_000)) {
            const url = `${product.url}/__bench/seed-population?count=5000`;
            openids.push(...(await callJson<{ openids: string[] }>('POST', url)).openids);
          }
          log(`seeded ${openids.length} bound users for the cache-miss scans`);
          return openids;
        })()),
      outDir,
      log,
      ...starters,
    };
    // The first ticket fetches the shared access token.
    await createTickets(product.url, simulator.url, 1, 1);
    log(`simulator ${simulator.url}, product A ${product.url}, ${ctx.openids.length} bound users`);

    const attempt = async <T>(id: ScenarioId, body: () => Promise<T>): Promise<T | undefined> => {
      if (!only.has(id)) return undefined;
      log(`${id}: start`);
      try {
        return await body();
      } catch (error) {
        log(`${id} failed: ${(error as Error).stack ?? String(error)}`);
        results.errors.push({ scenario: id, error: String((error as Error).message ?? error) });
        return undefined;
      } finally {
        writeFileSync(path.join(keptDir, 'results.json'), JSON.stringify(results, null, 2));
      }
    };

    results.P1 = await attempt('P1', () => pushScenario(ctx, 'P1', 'plain', 'bench/baselines/coWechatPlain.ts'));
    results.P2 = await attempt('P2', () => pushScenario(ctx, 'P2', 'safe', 'bench/baselines/coWechatAes.ts'));
    results.P3 = await attempt('P3', () => ticketReadScenario(ctx));
    let instanceB: ChildServer | undefined;
    const b = async () => (instanceB ??= await ctx.startProduct('B'));
    results.P4 = await attempt('P4', async () => wakeScenario(ctx, await b()));
    let p6Tickets: CreatedTicket[] | undefined;
    results.P6 = await attempt('P6', async () => {
      const { outcome, tickets } = await ticketMemoryScenario(ctx);
      p6Tickets = tickets;
      return outcome;
    });
    results.P5 = await attempt('P5', async () =>
      longPollScenario(
        ctx,
        p6Tickets ?? (await createTickets(product.url, simulator.url, settings.quick ? 2000 : 10_000)),
      ),
    );
    results.P7 = await attempt('P7', async () =>
      tokenScenario(ctx, [await b(), await ctx.startProduct('C'), await ctx.startProduct('D')]),
    );
    results.P8 = await attempt('P8', () => qrBudgetScenario(ctx));
    results.P9 = await attempt('P9', () => ticketCreationScenario(ctx));
    // P1 and P4 again with every instance on a Redis Cluster, beside the single-node figures above.
    const onCluster = async () => {
      if (!cluster) {
        cluster = await startClusterBench(ctx);
        results.cluster = cluster.description;
        log(`cluster: ${cluster.description}`);
      }
      return cluster.ctx;
    };
    results.P1C = await attempt('P1C', async () =>
      pushScenario(await onCluster(), 'P1C', 'plain', 'bench/baselines/coWechatPlain.ts'),
    );
    results.P4C = await attempt('P4C', async () => {
      const c = await onCluster();
      return wakeScenario(c, await c.startProduct('B'));
    });
  } finally {
    results.finishedAt = new Date().toISOString();
    writeFileSync(path.join(keptDir, 'results.json'), JSON.stringify(results, null, 2));
    await cleanUp();
  }

  const markdown = resultsMarkdown(results);
  writeFileSync(path.join(keptDir, 'results.md'), `${markdown}\n`);
  process.stdout.write(`\n${markdown}\n\nresults: ${path.relative(PROJECT_ROOT, keptDir)}/results.{md,json}\n`);
  return results.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
