import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { rssOf, runWorker } from '../lib/child';
import { listenOverflows } from '../lib/meter';
import type { BenchContext } from '../lib/context';
import { call, callJson } from '../lib/http';
import { runLoad } from '../lib/load';
import { waitForQuiet, type Quiet } from '../lib/quiet';
import { median, round, sleep } from '../lib/stats';
import { deleteMatching, keysMatching, memoryUsage, usedMemory } from '../lib/storage';
import { createTickets, type CreatedTicket } from '../lib/tickets';

export interface TicketMemoryOutcome {
  tickets: number;
  /** INFO memory used_memory after − before, over the tickets created (noisy if others share the Redis). */
  usedMemoryDelta: number;
  perTicketInfoDelta: number;
  /** MEMORY USAGE … SAMPLES 0 of one ticket key, and the mean over every ticket key of the run. */
  memoryUsageOne: number;
  memoryUsageMean: number;
  memoryUsageMax: number;
  encoding: string;
  fields: number;
  longestValue: number;
  target: { maxBytes: number };
  pass: boolean;
}

/** P6: Redis memory per live ticket, over 10,000 tickets created through the API. */
export async function ticketMemoryScenario(
  ctx: BenchContext,
): Promise<{ outcome: TicketMemoryOutcome; tickets: CreatedTicket[] }> {
  const { redis, run } = ctx;
  const count = 10_000;
  await deleteMatching(redis, run, `${run.redisPrefix}login:*`);
  await deleteMatching(redis, run, `${run.redisPrefix}push:*`);
  await sleep(500);
  const before = await usedMemory(redis);
  ctx.log(`P6: creating ${count} tickets`);
  const tickets = await createTickets(ctx.product.url, ctx.simulator.url, count);
  const after = await usedMemory(redis);
  const keys = await keysMatching(redis, `${run.redisPrefix}login:{*`);
  if (keys.length !== count)
    throw new Error(`P6: expected ${count} ticket keys under the prefix, found ${keys.length}`);
  const usages: number[] = [];
  for (let i = 0; i < keys.length; i += 500)
    usages.push(...(await Promise.all(keys.slice(i, i + 500).map((key) => memoryUsage(redis, key)))));
  const one = keys[0]!;
  const encodingReply = await redis.sendCommand(['OBJECT', 'ENCODING', one]);
  const encoding = typeof encodingReply === 'string' ? encodingReply : JSON.stringify(encodingReply);
  const hash = await redis.hGetAll(one);
  const mean = usages.reduce((a, b) => a + b, 0) / usages.length;
  const perTicket = (after - before) / count;
  const outcome: TicketMemoryOutcome = {
    tickets: count,
    usedMemoryDelta: after - before,
    perTicketInfoDelta: round(perTicket, 1),
    memoryUsageOne: usages[0]!,
    memoryUsageMean: round(mean, 1),
    memoryUsageMax: Math.max(...usages),
    encoding,
    fields: Object.keys(hash).length,
    longestValue: Math.max(...Object.values(hash).map((v) => Buffer.byteLength(v))),
    target: { maxBytes: 1024 },
    pass: mean <= 1024 && perTicket <= 1024,
  };
  ctx.log(
    `P6: INFO delta ${outcome.perTicketInfoDelta} B/ticket; MEMORY USAGE one ${outcome.memoryUsageOne} B, mean ${outcome.memoryUsageMean} B (${encoding}, ${outcome.fields} fields, longest value ${outcome.longestValue} B)`,
  );
  return { outcome, tickets };
}

export interface LongPollOutcome {
  polls: number;
  waitSeconds: number;
  idleRss: number;
  heldRss: number;
  rssGrowth: number;
  rssGrowthPerPoll: number;
  heapUsedIdle: number;
  heapUsedHeldAfterGc: number;
  rssHeldAfterGc: number;
  heldConfirmedByServer: number;
  statusCounts: Record<string, number>;
  errorCounts: Record<string, number>;
  answeredAfterMs: { min: number | null; p50: number | null; max: number | null };
  healthyAfter: boolean;
  /** SYNs dropped by a full accept queue while the polls were opened (machine-wide; the client's SYN retry absorbs them). */
  listenOverflows: number;
  target: { maxRssGrowthBytes: number };
  pass: boolean;
  notes: string[];
  quiet: Quiet;
}

/**
 * P5: N concurrent long-polls on ONE fresh instance, opened from a separate process (one socket
 * each), held until their wait runs out. RSS growth = peak RSS while all are held − idle RSS
 * (after warm-up and a full GC).
 */
export async function longPollScenario(ctx: BenchContext, tickets: CreatedTicket[]): Promise<LongPollOutcome> {
  const polls = ctx.settings.quick ? 2000 : 10_000;
  const waitSeconds = ctx.settings.quick ? 8 : 30;
  const notes: string[] = [];
  // All N polls come from this machine's one address: lift the per-IP limit of held polls for P5.
  const instance = await ctx.startProduct('P5', {
    nodeArgs: ['--expose-gc'],
    env: { LONG_POLL_MAX_PER_IP: String(polls) },
  });
  try {
    // Warm the read path, then settle and measure idle.
    await runLoad({
      url: instance.url,
      connections: 16,
      amount: 2000,
      requests: tickets
        .slice(0, 200)
        .map((t) => ({ method: 'GET' as const, path: `/api/login/tickets/${t.ticketId}` })),
    });
    await callJson('POST', `${instance.url}/__bench/gc`);
    await sleep(1000);
    const idleSamples: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      idleSamples.push(rssOf(instance.pid));
      await sleep(100);
    }
    const idleRss = median(idleSamples);
    const heapUsedIdle = (await callJson<{ memory: NodeJS.MemoryUsage }>('GET', `${instance.url}/__bench/stats`)).memory
      .heapUsed;

    const quiet = await waitForQuiet(ctx.settings.quietWaitS);
    const ticketIdsFile = path.join(ctx.outDir, 'p5-ticket-ids.json');
    writeFileSync(ticketIdsFile, JSON.stringify(tickets.map((t) => t.ticketId)));
    const overflows0 = listenOverflows();
    ctx.log(
      `P5: opening ${polls} long-polls (wait=${waitSeconds}) from a separate process; idle RSS ${round(idleRss / 2 ** 20, 1)} MiB`,
    );
    const worker = runWorker<{
      sent: number;
      finished: number;
      statusCounts: Record<string, number>;
      errorCounts: Record<string, number>;
      answeredAfterMs: { min: number | null; p50: number | null; max: number | null };
    }>({
      name: 'P5 poll clients',
      file: 'bench/pollClients.ts',
      env: {
        BENCH_POLL: JSON.stringify({
          base: instance.url,
          ticketIdsFile,
          count: polls,
          waitSeconds,
          perTick: 100,
          tickMs: 20,
          deadlineMs: (waitSeconds + 60) * 1000,
        }),
      },
      stderrFile: path.join(ctx.outDir, 'logs', 'poll-clients.stderr.log'),
      timeoutMs: (waitSeconds + 90) * 1000,
    });

    // Watch the server until every poll is held, then sample RSS for 2 s.
    let heldRss = 0;
    let held = 0;
    const giveUpAt = Date.now() + (polls / 100) * 20 + 30_000;
    while (Date.now() < giveUpAt) {
      heldRss = Math.max(heldRss, rssOf(instance.pid));
      held = (await callJson<{ waiting: number }>('GET', `${instance.url}/__bench/stats`)).waiting;
      if (held >= polls) break;
      await sleep(200);
    }
    if (held < polls) notes.push(`only ${held} of ${polls} polls were held at once`);
    for (let i = 0; i < 10; i += 1) {
      heldRss = Math.max(heldRss, rssOf(instance.pid));
      await sleep(200);
    }
    const overflows = listenOverflows() - overflows0;
    const afterGc = await callJson<{ memory: NodeJS.MemoryUsage }>('POST', `${instance.url}/__bench/gc`);
    const rssHeldAfterGc = rssOf(instance.pid);
    const stillHeld = (await callJson<{ waiting: number }>('GET', `${instance.url}/__bench/stats`)).waiting;
    if (stillHeld < polls) notes.push(`${polls - stillHeld} polls were answered before the GC sample`);

    const result = await worker;
    const healthy = (await call('GET', `${instance.url}/healthz`)).status === 200;
    const ok200 = result.statusCounts['200'] ?? 0;
    const errors = Object.values(result.errorCounts).reduce((a, b) => a + b, 0);
    const rssGrowth = heldRss - idleRss;
    ctx.log(
      `P5: ${held} held; RSS idle ${round(idleRss / 2 ** 20, 1)} MiB → ${round(heldRss / 2 ** 20, 1)} MiB; answers ${JSON.stringify(result.statusCounts)}, errors ${JSON.stringify(result.errorCounts)}`,
    );
    return {
      polls,
      waitSeconds,
      idleRss,
      heldRss,
      rssGrowth,
      rssGrowthPerPoll: round(rssGrowth / polls, 0),
      heapUsedIdle,
      heapUsedHeldAfterGc: afterGc.memory.heapUsed,
      rssHeldAfterGc,
      heldConfirmedByServer: held,
      statusCounts: result.statusCounts,
      errorCounts: result.errorCounts,
      answeredAfterMs: result.answeredAfterMs,
      healthyAfter: healthy,
      listenOverflows: overflows,
      target: { maxRssGrowthBytes: 150_000_000 },
      pass: held >= polls && ok200 === polls && errors === 0 && healthy && rssGrowth <= 150_000_000,
      notes,
      quiet,
    };
  } finally {
    await instance.stop();
  }
}
