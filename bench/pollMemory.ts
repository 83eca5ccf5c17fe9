// tsx bench/pollMemory.ts [--polls=2000]
//
// The diagnosis behind P5: what one held long-poll costs in the product's heap. Starts the
// simulator and a product instance (compiled, --expose-gc), takes a heap snapshot idle and one
// with N long-polls held (opened from bench/pollClients.ts), and prints the growth per poll by
// constructor / closure. Private database and Redis prefix, removed at the end.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, rssOf, runWorker, spawnServer, type ChildServer } from './lib/child';
import { buildServers, removeBuild } from './lib/build';
import { heapGrowth } from './lib/heapDiff';
import { callJson } from './lib/http';
import { benchRun, productEnvironment } from './lib/settings';
import { sleep } from './lib/stats';
import { connectBenchRedis, createDatabase, deleteMatching, dropDatabase } from './lib/storage';
import { createTickets } from './lib/tickets';

async function main(): Promise<void> {
  const polls = Number(process.argv.find((a) => a.startsWith('--polls='))?.split('=')[1] ?? 2000);
  const log = (m: string) => process.stderr.write(`[pollMemory] ${m}\n`);
  const outDir = path.join(PROJECT_ROOT, 'bench', 'results', `pollMemory-${Date.now()}`);
  mkdirSync(path.join(outDir, 'logs'), { recursive: true });
  buildServers(log);
  const run = benchRun();
  const redis = await connectBenchRedis(run);
  await createDatabase(run);
  const servers: ChildServer[] = [];
  const snapshots: string[] = [];
  try {
    const sim = await spawnServer({
      name: 'simulator',
      file: 'bench/simulatorServer.ts',
      env: {},
      stderrFile: path.join(outDir, 'logs', 'sim.log'),
    });
    servers.push(sim);
    const product = await spawnServer({
      name: 'product',
      file: 'bench/productServer.ts',
      env: productEnvironment(run, sim.url, 'info'),
      nodeArgs: ['--expose-gc'],
      stderrFile: path.join(outDir, 'logs', 'product.log'),
    });
    servers.push(product);
    const tickets = await createTickets(product.url, sim.url, polls);
    const idsFile = path.join(outDir, 'ids.json');
    writeFileSync(idsFile, JSON.stringify(tickets.map((t) => t.ticketId)));
    await sleep(500);
    const idle = await callJson<{ file: string; memory: NodeJS.MemoryUsage }>(
      'POST',
      `${product.url}/__bench/heap-snapshot?label=idle`,
    );
    snapshots.push(idle.file);
    const idleRss = rssOf(product.pid);
    const worker = runWorker<unknown>({
      name: 'poll clients',
      file: 'bench/pollClients.ts',
      env: {
        BENCH_POLL: JSON.stringify({
          base: product.url,
          ticketIdsFile: idsFile,
          count: polls,
          waitSeconds: 25,
          perTick: 100,
          tickMs: 20,
          deadlineMs: 90_000,
        }),
      },
      stderrFile: path.join(outDir, 'logs', 'clients.log'),
      timeoutMs: 120_000,
    });
    for (let i = 0; i < 200; i += 1) {
      if ((await callJson<{ waiting: number }>('GET', `${product.url}/__bench/stats`)).waiting >= polls) break;
      await sleep(100);
    }
    const held = await callJson<{ file: string; memory: NodeJS.MemoryUsage }>(
      'POST',
      `${product.url}/__bench/heap-snapshot?label=held`,
    );
    snapshots.push(held.file);
    const heldRss = rssOf(product.pid);
    log(
      `idle: heapUsed ${(idle.memory.heapUsed / 1e6).toFixed(1)} MB, RSS ${(idleRss / 1e6).toFixed(1)} MB; ` +
        `${polls} held: heapUsed ${(held.memory.heapUsed / 1e6).toFixed(1)} MB, RSS ${(heldRss / 1e6).toFixed(1)} MB`,
    );
    const per = (a: number, b: number) => Math.round((b - a) / polls);
    process.stdout.write(
      `per held poll: RSS +${per(idleRss, heldRss)} B, heapUsed (after GC) +${per(idle.memory.heapUsed, held.memory.heapUsed)} B, ` +
        `external +${per(idle.memory.external, held.memory.external)} B\n`,
    );
    process.stdout.write('heap growth per held poll (self size), by constructor / closure:\n');
    for (const row of heapGrowth(idle.file, held.file, polls)) {
      process.stdout.write(
        `  ${String(row.bytesPer).padStart(6)} B  ${String(row.countPer).padStart(6)} ×  ${row.name}\n`,
      );
    }
    await worker;

    // The same measurement against bare servers, to tell the framework's share from the product's.
    process.stdout.write('heap per held request, bare servers (same clients, same count):\n');
    for (const mode of ['http', 'koa', 'koa-5-middleware', 'koa-5-middleware-pino-child']) {
      const bare = await spawnServer({
        name: `held ${mode}`,
        file: 'bench/baselines/heldRequests.ts',
        args: [mode],
        env: {},
        nodeArgs: ['--expose-gc'],
        stderrFile: path.join(outDir, 'logs', `held-${mode}.log`),
      });
      servers.push(bare);
      const before = await callJson<{ heapUsed: number }>('GET', `${bare.url}/__bench/heap`);
      const clients = runWorker<unknown>({
        name: 'poll clients',
        file: 'bench/pollClients.ts',
        env: {
          BENCH_POLL: JSON.stringify({
            base: bare.url,
            ticketIdsFile: idsFile,
            count: polls,
            waitSeconds: 25,
            perTick: 100,
            tickMs: 20,
            deadlineMs: 90_000,
          }),
        },
        stderrFile: path.join(outDir, 'logs', 'clients.log'),
        timeoutMs: 120_000,
      });
      let after = before as { heapUsed: number; held?: number };
      for (let i = 0; i < 200; i += 1) {
        after = await callJson<{ heapUsed: number; held: number }>('GET', `${bare.url}/__bench/heap`);
        if ((after.held ?? 0) >= polls) break;
        await sleep(100);
      }
      process.stdout.write(
        `  ${String(Math.round((after.heapUsed - before.heapUsed) / polls)).padStart(6)} B  ${mode} (${after.held ?? 0} held)\n`,
      );
      await callJson('GET', `${bare.url}/__bench/release`);
      await clients;
      await bare.stop();
    }
  } finally {
    for (const s of servers) await s.stop();
    for (const f of snapshots) rmSync(f, { force: true });
    await deleteMatching(redis, run, `${run.redisPrefix}*`);
    await dropDatabase(run);
    await redis.quit();
    removeBuild();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
