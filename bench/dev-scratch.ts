import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { spawnServer } from './lib/child';
import { makeStarters } from './lib/context';
import { callJson } from './lib/http';
import { runLoad } from './lib/load';
import { benchRun } from './lib/settings';
import { connectBenchRedis, createDatabase, deleteMatching, dropDatabase } from './lib/storage';
import { createTickets, pushDriver, scanPushes } from './lib/tickets';
import { sequence } from './lib/load';

async function main() {
  const run = benchRun();
  const outDir = '/tmp/bench-dev';
  mkdirSync(path.join(outDir, 'logs'), { recursive: true });
  const redis = await connectBenchRedis(run);
  await createDatabase(run);
  const servers: { stop(): Promise<unknown> }[] = [];
  try {
    const sim = await spawnServer({ name: 'sim', file: 'bench/simulatorServer.ts', env: {}, stderrFile: `${outDir}/logs/sim.log` });
    servers.push(sim);
    const settings = { quick: true, connections: 64, durationS: 3, warmupS: 1, runs: 1, logLevel: process.env.LL ?? 'info', profile: 'never' as const };
    const st = makeStarters(run, outDir, settings, () => sim.url, (s) => servers.push(s));
    const a = await st.startProduct('A', { nodeArgs: process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${outDir}/prof`] : [] });
    const { openids } = await callJson<{ openids: string[] }>('POST', `${a.url}/__bench/seed-users?count=8`);
    let t = Date.now();
    const tickets = await createTickets(a.url, sim.url, 3000);
    console.log('created 3000 tickets in', Date.now() - t, 'ms');
    const driver = pushDriver('plain');
    t = Date.now();
    const pushes = scanPushes(driver, tickets, openids);
    console.log('built pushes in', Date.now() - t, 'ms');
    for (const conns of [1, 8, 64]) {
      const slice = pushes.splice(0, conns === 1 ? 200 : 800);
      const seq = sequence(slice, { cycle: false });
      const r = await runLoad({ url: a.url, connections: conns, amount: slice.length - 2 * conns, requests: [{ setupRequest: seq.setupRequest }] });
      console.log(conns, 'conns', r.reqPerSec, 'req/s', r.latency, 'non2xx', r.non2xx);
    }
    const r = await runLoad({ url: a.url, connections: 64, duration: 3, requests: tickets.slice(0, 500).map((x) => ({ method: 'GET' as const, path: `/api/login/tickets/${x.ticketId}` })) });
    console.log('P3-like', r.reqPerSec, r.latency);
    await deleteMatching(redis, run, `${run.redisPrefix}*`);
  } finally {
    for (const s of servers) await s.stop();
    await dropDatabase(run);
    await redis.quit();
  }
}
void main();
