import type autocannon from 'autocannon';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PushDriver } from '../../src/sandbox/PushDriver';
import type { ChildServer } from '../lib/child';
import type { BenchContext } from '../lib/context';
import { callJson } from '../lib/http';
import { runLoad, sequence, type LoadResult } from '../lib/load';
import {
  callersOf,
  formatProfile,
  summariseProfile,
  type ProfileRow,
  type ProfileSummary,
  type ProfileWindow,
} from '../lib/profile';
import { perRequest, type MeterReading } from '../lib/meter';
import { waitForQuiet, type Quiet } from '../lib/quiet';
import { median, round } from '../lib/stats';
import { deleteMatching } from '../lib/storage';
import { createTickets, fakeScans, pushDriver, scanPushes, type PreparedRequest } from '../lib/tickets';

export type MeasuredRun = LoadResult & { quiet: Quiet; meter: MeterReading; perRequest: Record<string, number> };

export interface ThroughputSide {
  runs: MeasuredRun[];
  reqPerSec: number;
  p50: number;
  p99: number;
  /** CPU the server under test spent per request (its cores × 1000 / req/s), median of the runs: robust to what else runs. */
  cpuMsPerRequest: number;
}

export interface ProfiledRun {
  summary: ProfileSummary;
  /** Call paths into the hottest non-project functions (what calls the time away). */
  callers: Record<string, ProfileRow[]>;
}

export interface ThroughputOutcome {
  id: 'P1' | 'P2' | 'P3' | 'P1C';
  product: ThroughputSide;
  baseline: ThroughputSide;
  /** Product req/s over baseline req/s (medians of the runs). */
  ratio: number;
  /** Product p99 over baseline p99 (medians of the runs). */
  p99Ratio: number;
  target: { minRatio: number; maxP99Ratio?: number };
  pass: boolean;
  /** Every product response was the full-path answer (the confirm link for a scan, 200 for a read). */
  checks: { answers: number; good: number; bad: string[]; reusedPushes: number };
  profiles?: { product: ProfiledRun; baseline: ProfiledRun };
  /** P3: the floor of a read with this stack (bare Koa + one HGETALL), measured in the same runs. */
  floor?: ThroughputSide & { ratioToBaseline: number; productRatioToFloor: number };
}

const side = (runs: MeasuredRun[], server: 'product' | 'baseline' | 'floor'): ThroughputSide => ({
  runs,
  reqPerSec: round(median(runs.map((r) => r.reqPerSec)), 1),
  p50: median(runs.map((r) => r.latency.p50)),
  p99: median(runs.map((r) => r.latency.p99)),
  cpuMsPerRequest: round(
    median(runs.map((r) => ((r.meter.cores[server] ?? Number.NaN) * 1000) / Math.max(r.reqPerSec, 1e-3))),
    3,
  ),
});

interface Checker {
  good: number;
  bad: string[];
  samples: string[];
  onResponse(status: number, body: string): void;
}

function checker(ok: (status: number, body: string) => boolean): Checker {
  const c: Checker = {
    good: 0,
    bad: [],
    samples: [],
    onResponse(status, body) {
      if (ok(status, body)) {
        c.good += 1;
        if (c.samples.length < 20) c.samples.push(body);
      } else if (c.bad.length < 10) c.bad.push(`${status} ${body.slice(0, 160)}`);
    },
  };
  return c;
}

function requestsOf(
  prepared: PreparedRequest[],
  cycle: boolean,
  check: Checker,
): { requests: autocannon.Request[]; reused: () => number } {
  const seq = sequence(prepared, { cycle });
  return {
    requests: [
      { setupRequest: seq.setupRequest, onResponse: (status: number, body: string) => check.onResponse(status, body) },
    ],
    reused: seq.exhausted,
  };
}

const quietWait = (ctx: BenchContext) => waitForQuiet(ctx.settings.quietWaitS);

/** How a push scenario loads the product: one distinct, freshly signed SCAN of a live ticket per request. */
class ScanLoad {
  constructor(
    private readonly ctx: BenchContext,
    private readonly driver: PushDriver,
    private readonly mode: 'plain' | 'safe',
  ) {}

  ok = (status: number, body: string): boolean =>
    status === 200 && (this.mode === 'plain' ? body.includes('/h5/login/confirm?c=') : body.includes('<Encrypt>'));

  /** Creates the tickets (through the API, untimed) and signs one push for each: `count` to send plus slack. */
  async prepare(target: ChildServer, count: number): Promise<PreparedRequest[]> {
    const tickets = await createTickets(target.url, this.ctx.simulator.url, count + 2 * this.ctx.settings.connections);
    return scanPushes(this.driver, tickets, this.ctx.openids);
  }

  /** Sends exactly `count` of the prepared pushes (each once). */
  async send(
    target: ChildServer,
    pushes: PreparedRequest[],
    count: number,
    check: Checker,
  ): Promise<{ result: LoadResult; reused: number }> {
    const { requests, reused } = requestsOf(pushes, false, check);
    const result = await runLoad({
      url: target.url,
      connections: this.ctx.settings.connections,
      amount: count,
      requests,
    });
    return { result, reused: reused() };
  }

  /** Prepares, sends, then drops the used tickets and dedupe claims (Redis stays the size of one run). */
  async run(target: ChildServer, count: number, check: Checker): Promise<{ result: LoadResult; reused: number }> {
    const sent = await this.send(target, await this.prepare(target, count), count, check);
    await this.clean();
    return sent;
  }

  async clean(): Promise<void> {
    const { redis, run } = this.ctx;
    await deleteMatching(redis, run, `${run.redisPrefix}login:*`);
    await deleteMatching(redis, run, `${run.redisPrefix}push:*`);
  }

  /** Reads a few encrypted replies back as WeChat would (msg_signature, decrypt) to be sure they carry the confirm link. */
  async verifySamples(samples: string[]): Promise<string[]> {
    const problems: string[] = [];
    for (const body of samples.slice(0, 5)) {
      const reply = await this.driver.readReply(body);
      if (!reply?.Content?.includes('/h5/login/confirm?c='))
        problems.push(`reply without the confirm link: ${JSON.stringify(reply).slice(0, 160)}`);
    }
    return problems;
  }
}

export async function pushScenario(
  ctx: BenchContext,
  id: 'P1' | 'P2' | 'P1C',
  mode: 'plain' | 'safe',
  baselineFile: string,
): Promise<ThroughputOutcome> {
  const { settings } = ctx;
  const driver = pushDriver(mode);
  const scans = new ScanLoad(ctx, driver, mode);
  const baseline = await ctx.startBaseline(baselineFile);
  const baselineOk = (status: number, body: string) =>
    status === 200 && body.includes(mode === 'plain' ? '<Content>' : '<Encrypt>');
  try {
    // The baselines look at nothing, so one pool of pushes serves every baseline run (cycled).
    const baselinePool = scanPushes(driver, fakeScans(5000), ctx.openids);
    const loadBaselineAt = async (target: ChildServer, seconds: number) => {
      const check = checker(baselineOk);
      const { requests } = requestsOf(baselinePool, true, check);
      const result = await runLoad({ url: target.url, connections: settings.connections, duration: seconds, requests });
      if (check.bad.length > 0) throw new Error(`${id} baseline answered unexpectedly: ${check.bad[0]}`);
      return result;
    };

    ctx.log(`${id}: warm-up`);
    await loadBaselineAt(baseline, settings.warmupS);
    const warm = await scans.run(ctx.product, settings.quick ? 1000 : 3000, checker(scans.ok));
    let rate = warm.result.reqPerSec;

    const productRuns: MeasuredRun[] = [];
    const baselineRuns: MeasuredRun[] = [];
    const check = checker(scans.ok);
    let reused = 0;
    let answers = 0;
    for (let k = 0; k < settings.runs; k += 1) {
      let quiet = await quietWait(ctx);
      baselineRuns.push(
        await measured(ctx, { baseline: baseline.pid }, quiet, () => loadBaselineAt(baseline, settings.durationS)),
      );
      // Sized so the run lasts about durationS at the rate seen so far: every request scans a ticket of its own.
      const count = Math.max(300, Math.min(60_000, Math.round(rate * settings.durationS)));
      const pushes = await scans.prepare(ctx.product, count);
      quiet = await quietWait(ctx);
      let r = 0;
      const result = await measured(ctx, { product: ctx.product.pid }, quiet, async () => {
        const sent = await scans.send(ctx.product, pushes, count, check);
        r = sent.reused;
        return sent.result;
      });
      await scans.clean();
      productRuns.push(result);
      reused += r;
      answers += result.requests;
      rate = result.reqPerSec;
      ctx.log(
        `${id} run ${k + 1}/${settings.runs}: baseline ${baselineRuns[k]!.reqPerSec} req/s p99 ${baselineRuns[k]!.latency.p99} ms; ` +
          `product ${result.reqPerSec} req/s p99 ${result.latency.p99} ms (${count} scans; machine busy before: ${baselineRuns[k]!.quiet.busyPct}% / ${quiet.busyPct}%)` +
          `\n    baseline ${describeRun(baselineRuns[k]!)}\n    product  ${describeRun(result)}`,
      );
    }
    const bad = [...check.bad];
    if (mode === 'safe') bad.push(...(await scans.verifySamples(check.samples)));
    const product = side(productRuns, 'product');
    const base = side(baselineRuns, 'baseline');
    const ratio = round(product.reqPerSec / base.reqPerSec, 3);
    const p99Ratio = round(product.p99 / Math.max(base.p99, 1), 2);
    const target = id === 'P1' ? { minRatio: 0.7, maxP99Ratio: 1.5 } : { minRatio: 0.7 };
    const outcome: ThroughputOutcome = {
      id,
      product,
      baseline: base,
      ratio,
      p99Ratio,
      target,
      pass:
        ratio >= target.minRatio &&
        (target.maxP99Ratio === undefined || p99Ratio <= target.maxP99Ratio) &&
        bad.length === 0,
      checks: { answers, good: check.good, bad, reusedPushes: reused },
    };
    if (settings.profile === 'always' || (settings.profile === 'auto' && !outcome.pass)) {
      const count = Math.max(300, Math.round(rate * settings.durationS));
      outcome.profiles = await profilePair(ctx, id, baselineFile, {
        warmProduct: async (t) => {
          await scans.run(t, Math.max(300, Math.round(rate * settings.warmupS)), checker(scans.ok));
        },
        prepareProduct: (t) => scans.prepare(t, count),
        loadProduct: async (t, pushes) => {
          await scans.send(t, pushes, count, checker(scans.ok));
          await scans.clean();
        },
        warmBaseline: async (t) => {
          await loadBaselineAt(t, settings.warmupS);
        },
        loadBaseline: async (t) => {
          await loadBaselineAt(t, settings.durationS);
        },
      });
    }
    return outcome;
  } finally {
    await baseline.stop();
  }
}

export async function ticketReadScenario(ctx: BenchContext): Promise<ThroughputOutcome> {
  const { settings } = ctx;
  const baseline = await ctx.startBaseline('bench/baselines/koaJson.ts');
  const floor = await ctx.startBaseline('bench/baselines/koaRedisRead.ts', {
    env: { REDIS_URL: ctx.run.redisUrl, REDIS_KEY_PREFIX: ctx.run.redisPrefix },
  });
  try {
    const tickets = await createTickets(ctx.product.url, ctx.simulator.url, 1000);
    const reads: PreparedRequest[] = tickets.map((t) => ({ method: 'GET', path: `/api/login/tickets/${t.ticketId}` }));
    const productOk = (status: number, body: string) => status === 200 && body.includes('"status":"pending"');
    const load = async (target: ChildServer, seconds: number, check: Checker) => {
      const { requests } = requestsOf(reads, true, check);
      return runLoad({ url: target.url, connections: settings.connections, duration: seconds, requests });
    };
    ctx.log('P3: warm-up');
    await load(
      baseline,
      settings.warmupS,
      checker(() => true),
    );
    await load(
      floor,
      settings.warmupS,
      checker(() => true),
    );
    await load(
      ctx.product,
      settings.warmupS,
      checker(() => true),
    );
    const productRuns: MeasuredRun[] = [];
    const baselineRuns: MeasuredRun[] = [];
    const floorRuns: MeasuredRun[] = [];
    const check = checker(productOk);
    const floorCheck = checker(productOk);
    for (let k = 0; k < settings.runs; k += 1) {
      let quiet = await quietWait(ctx);
      baselineRuns.push(
        await measured(ctx, { baseline: baseline.pid }, quiet, () =>
          load(
            baseline,
            settings.durationS,
            checker((s) => s === 200),
          ),
        ),
      );
      quiet = await quietWait(ctx);
      floorRuns.push(
        await measured(ctx, { floor: floor.pid }, quiet, () => load(floor, settings.durationS, floorCheck)),
      );
      quiet = await quietWait(ctx);
      productRuns.push(
        await measured(ctx, { product: ctx.product.pid }, quiet, () => load(ctx.product, settings.durationS, check)),
      );
      ctx.log(
        `P3 run ${k + 1}/${settings.runs}: baseline ${baselineRuns[k]!.reqPerSec} req/s p99 ${baselineRuns[k]!.latency.p99} ms; ` +
          `product ${productRuns[k]!.reqPerSec} req/s p99 ${productRuns[k]!.latency.p99} ms (machine busy before: ${baselineRuns[k]!.quiet.busyPct}% / ${quiet.busyPct}%)` +
          `; floor (Koa + HGETALL) ${floorRuns[k]!.reqPerSec} req/s` +
          `\n    baseline ${describeRun(baselineRuns[k]!)}\n    floor    ${describeRun(floorRuns[k]!)}\n    product  ${describeRun(productRuns[k]!)}`,
      );
    }
    const product = side(productRuns, 'product');
    const base = side(baselineRuns, 'baseline');
    const floorSide = side(floorRuns, 'floor');
    const ratio = round(product.reqPerSec / base.reqPerSec, 3);
    const outcome: ThroughputOutcome = {
      id: 'P3',
      product,
      baseline: base,
      ratio,
      p99Ratio: round(product.p99 / Math.max(base.p99, 1), 2),
      floor: {
        ...floorSide,
        ratioToBaseline: round(floorSide.reqPerSec / base.reqPerSec, 3),
        productRatioToFloor: round(product.reqPerSec / floorSide.reqPerSec, 3),
      },
      target: { minRatio: 0.8 },
      pass: ratio >= 0.8 && check.bad.length === 0 && floorCheck.bad.length === 0,
      checks: {
        answers: productRuns.reduce((n, r) => n + r.requests, 0),
        good: check.good,
        bad: check.bad,
        reusedPushes: 0,
      },
    };
    if (settings.profile === 'always' || (settings.profile === 'auto' && !outcome.pass)) {
      outcome.profiles = await profilePair(ctx, 'P3', 'bench/baselines/koaJson.ts', {
        warmProduct: async (t) => {
          await load(
            t,
            settings.warmupS,
            checker(() => true),
          );
        },
        prepareProduct: async () => reads,
        loadProduct: async (t) => {
          await load(
            t,
            settings.durationS,
            checker(() => true),
          );
        },
        warmBaseline: async (t) => {
          await load(
            t,
            settings.warmupS,
            checker(() => true),
          );
        },
        loadBaseline: async (t) => {
          await load(
            t,
            settings.durationS,
            checker(() => true),
          );
        },
      });
    }
    return outcome;
  } finally {
    await baseline.stop();
    await floor.stop();
  }
}

/** "cores product 0.62 loadgen 0.81 …; per request mysql Questions 2 …" for the progress log. */
export function describeRun(run: MeasuredRun): string {
  const cores = Object.entries(run.meter.cores)
    .map(([name, c]) => `${name} ${c}`)
    .join(', ');
  const per = Object.entries(run.perRequest)
    .map(([name, v]) => `${name} ${v}`)
    .join(', ');
  return `cores: ${cores}; per request: ${per}`;
}

async function measured(
  ctx: BenchContext,
  servers: Record<string, number>,
  quiet: Quiet,
  body: () => Promise<LoadResult>,
): Promise<MeasuredRun> {
  const stop = await ctx.meter(servers);
  const result = await body();
  const meter = await stop();
  return { ...result, quiet, meter, perRequest: perRequest(meter, result.requests) };
}

interface ProfileSteps {
  warmProduct(t: ChildServer): Promise<void>;
  /** Untimed preparation (tickets, signed pushes) before the profiled window opens. */
  prepareProduct(t: ChildServer): Promise<PreparedRequest[]>;
  loadProduct(t: ChildServer, prepared: PreparedRequest[]): Promise<void>;
  warmBaseline(t: ChildServer): Promise<void>;
  loadBaseline(t: ChildServer): Promise<void>;
}

/**
 * CPU profiles of the product and of the baseline under the scenario's load: each a fresh process
 * started with --cpu-prof, warmed up, loaded for about durationS, then stopped (V8 writes the profile
 * on exit). Only the samples taken during the load are counted (the process's monotonic clock is
 * read just before and after it), so start-up, warm-up and ticket preparation stay out.
 */
async function profilePair(
  ctx: BenchContext,
  id: string,
  baselineFile: string,
  steps: ProfileSteps,
): Promise<{ product: ProfiledRun; baseline: ProfiledRun }> {
  ctx.log(`${id}: profiling the product and the baseline (node --cpu-prof)`);
  const dirs = {
    product: path.join(ctx.outDir, 'profiles', `${id}-product`),
    baseline: path.join(ctx.outDir, 'profiles', `${id}-baseline`),
  };
  mkdirSync(dirs.product, { recursive: true });
  mkdirSync(dirs.baseline, { recursive: true });
  const clock = async (t: ChildServer) =>
    (await callJson<{ hrtimeUs: number }>('GET', `${t.url}/__bench/clock`)).hrtimeUs;

  const product = await ctx.startProduct(`${id}-profiled`, {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.product}`],
  });
  let productWindow: ProfileWindow;
  try {
    await steps.warmProduct(product);
    const prepared = await steps.prepareProduct(product);
    const fromUs = await clock(product);
    await steps.loadProduct(product, prepared);
    productWindow = { fromUs, toUs: await clock(product) };
  } finally {
    await product.stop();
  }
  const baseline = await ctx.startBaseline(baselineFile, {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.baseline}`],
  });
  let baselineWindow: ProfileWindow;
  try {
    await steps.warmBaseline(baseline);
    const fromUs = await clock(baseline);
    await steps.loadBaseline(baseline);
    baselineWindow = { fromUs, toUs: await clock(baseline) };
  } finally {
    await baseline.stop();
  }
  const analyse = (dir: string, window: ProfileWindow): ProfiledRun => {
    const file = largestProfile(dir);
    const summary = summariseProfile(file, window);
    const callers: Record<string, ProfileRow[]> = {};
    for (const row of summary.topSelf.slice(0, 6)) {
      const fn = row.name.split(' ')[0]!;
      if (fn.startsWith('(')) continue;
      callers[row.name] = callersOf(file, row.name, window, 10, 4);
    }
    return { summary, callers };
  };
  const result = { product: analyse(dirs.product, productWindow), baseline: analyse(dirs.baseline, baselineWindow) };
  ctx.log(`${id} product profile:\n${formatProfile(result.product.summary)}`);
  ctx.log(`${id} baseline profile:\n${formatProfile(result.baseline.summary)}`);
  return result;
}

/** The main thread's profile: the largest file (tsx's loader thread writes a small one of its own). */
function largestProfile(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}
