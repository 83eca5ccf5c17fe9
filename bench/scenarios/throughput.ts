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
  /** Requests answered while the profile's window was open: what its CPU is divided by. */
  requests: number;
  /** Call paths into the hottest non-project functions (what calls the time away). */
  callers: Record<string, ProfileRow[]>;
}

/** CPU per request by area (µs), product beside baseline, computed from the two profiles and their request counts. */
export interface AreaRow {
  area: string;
  productUs: number;
  baselineUs: number;
  differenceUs: number;
}

export interface AnswerChecks {
  answers: number;
  good: number;
  /** The first problems found (answers that were not the full-path answer, errors, timeouts). */
  bad: string[];
  reusedPushes: number;
  /** Scans: distinct confirm links and distinct WeChat users answered, summed over the runs. */
  distinctLinks?: number;
  distinctUsers?: number;
  /** Scans with every scan of a run by another user: bound-account cache entries each run stored from empty (one per miss). */
  cacheMissesPerRun?: number[];
}

/** The same pushes from the 32 seeded users again and again: almost every binding lookup a cache hit. */
export interface CacheHitVariant {
  population: string;
  product: ThroughputSide;
  ratio: number;
  p99Ratio: number;
  checks: AnswerChecks;
}

export interface ThroughputOutcome {
  id: 'P1' | 'P2' | 'P3' | 'P1C';
  /** Who sends the measured requests (push scenarios: every scan of a run another bound user). */
  population?: string;
  product: ThroughputSide;
  baseline: ThroughputSide;
  /** Product req/s over baseline req/s (medians of the runs). */
  ratio: number;
  /** Product p99 over baseline p99 (medians of the runs). */
  p99Ratio: number;
  target: { minRatio: number; maxP99Ratio?: number };
  pass: boolean;
  /** Every product answer checked: the confirm link for a scan (decrypted in safe mode), the ticket for a read. */
  checks: AnswerChecks;
  /** Push scenarios: the cache-hit variant, measured in the same runs against the same baseline runs. */
  cacheHit?: CacheHitVariant;
  profiles?: { product: ProfiledRun; baseline: ProfiledRun; areas: AreaRow[] };
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
  onResponse: (status: number, body: string) => void;
}

function checker(ok: (status: number, body: string) => boolean): Checker {
  const c: Checker = {
    good: 0,
    bad: [],
    onResponse: (status, body) => {
      if (ok(status, body)) c.good += 1;
      else if (c.bad.length < 10) c.bad.push(`${status} ${body.slice(0, 160)}`);
    },
  };
  return c;
}

/** An error or a timeout fails the scenario as a wrong answer does. */
function loadProblems(what: string, result: LoadResult): string[] {
  return result.errors > 0 || result.timeouts > 0
    ? [`${what}: ${result.errors} errors, ${result.timeouts} timeouts`]
    : [];
}

function requestsOf(
  prepared: PreparedRequest[],
  cycle: boolean,
  onResponse: (status: number, body: string) => void,
): { requests: autocannon.Request[]; reused: () => number } {
  const seq = sequence(prepared, { cycle });
  return {
    requests: [
      { setupRequest: seq.setupRequest, onResponse: (status: number, body: string) => onResponse(status, body) },
    ],
    reused: seq.exhausted,
  };
}

const quietWait = (ctx: BenchContext) => waitForQuiet(ctx.settings.quietWaitS);

/** The answers of one run of scans, kept to be read after the run (reading them meanwhile would load the load generator). */
class ScanAnswers {
  readonly bodies: string[] = [];
  readonly bad: string[] = [];
  refused = 0;

  onResponse = (status: number, body: string): void => {
    if (status === 200) this.bodies.push(body);
    else {
      this.refused += 1;
      if (this.bad.length < 10) this.bad.push(`${status} ${body.slice(0, 160)}`);
    }
  };
}

/** Sums the checks of the runs of one variant. */
function addChecks(into: AnswerChecks, run: AnswerChecks): void {
  into.answers += run.answers;
  into.good += run.good;
  into.reusedPushes += run.reusedPushes;
  into.distinctLinks = (into.distinctLinks ?? 0) + (run.distinctLinks ?? 0);
  into.distinctUsers = (into.distinctUsers ?? 0) + (run.distinctUsers ?? 0);
  if (run.cacheMissesPerRun) into.cacheMissesPerRun = [...(into.cacheMissesPerRun ?? []), ...run.cacheMissesPerRun];
  for (const problem of run.bad) if (into.bad.length < 10) into.bad.push(problem);
}

const emptyChecks = (): AnswerChecks => ({ answers: 0, good: 0, bad: [], reusedPushes: 0 });

/** How a push scenario loads the product: one distinct, freshly signed SCAN of a live ticket per request. */
class ScanLoad {
  constructor(
    private readonly ctx: BenchContext,
    private readonly driver: PushDriver,
  ) {}

  /** Creates the tickets (through the API, untimed) and signs one push for each, by `openids` in turn: `count` to send plus slack. */
  async prepare(target: ChildServer, count: number, openids: string[]): Promise<PreparedRequest[]> {
    const tickets = await createTickets(target.url, this.ctx.simulator.url, count + 2 * this.ctx.settings.connections);
    return scanPushes(this.driver, tickets, openids);
  }

  /** Sends exactly `count` of the prepared pushes (each once). */
  async send(
    target: ChildServer,
    pushes: PreparedRequest[],
    count: number,
    answers: ScanAnswers,
  ): Promise<{ result: LoadResult; reused: number }> {
    const { requests, reused } = requestsOf(pushes, false, answers.onResponse);
    const result = await runLoad({
      url: target.url,
      connections: this.ctx.settings.connections,
      amount: count,
      requests,
    });
    return { result, reused: reused() };
  }

  /** Prepares, sends, then drops the used tickets and dedupe claims (Redis stays the size of one run). */
  async run(target: ChildServer, count: number, openids: string[]): Promise<LoadResult> {
    const sent = await this.send(target, await this.prepare(target, count, openids), count, new ScanAnswers());
    await this.clean();
    return sent.result;
  }

  async clean(): Promise<void> {
    const { redis, run } = this.ctx;
    await deleteMatching(redis, run, `${run.redisPrefix}login:*`);
    await deleteMatching(redis, run, `${run.redisPrefix}push:*`);
  }

  /**
   * Reads every answer as WeChat would (an encrypted one: msg_signature checked, then decrypted): each
   * must carry a confirm link of its own, and with `everyUserOnce` each must go to another user.
   */
  async check(answers: ScanAnswers, result: LoadResult, everyUserOnce: boolean): Promise<AnswerChecks> {
    const bad = [...answers.bad, ...loadProblems('load', result)];
    const links = new Set<string>();
    const users = new Set<string>();
    let good = 0;
    for (const body of answers.bodies) {
      const reply = await this.driver.readReply(body).catch(() => null);
      const link = /\/h5\/login\/confirm\?c=([^\s"&<]+)/.exec(reply?.Content ?? '')?.[1];
      if (!link || !reply?.ToUserName) {
        if (bad.length < 10) bad.push(`reply without the confirm link: ${body.slice(0, 160)}`);
        continue;
      }
      good += 1;
      links.add(link);
      users.add(reply.ToUserName);
    }
    if (links.size < good) bad.push(`${good - links.size} replies repeat another reply's confirm link`);
    if (everyUserOnce && users.size < good)
      bad.push(`${good - users.size} replies to a user already answered in the run`);
    return {
      answers: answers.bodies.length + answers.refused,
      good,
      bad,
      reusedPushes: 0,
      distinctLinks: links.size,
      distinctUsers: users.size,
    };
  }
}

/** The bound-account cache of a product instance: its size, emptied first when `clear`. */
const boundAccountCache = async (target: ChildServer, clear: boolean) =>
  (await callJson<{ size: number }>('POST', `${target.url}/__bench/bound-account-cache${clear ? '?clear=1' : ''}`))
    .size;

export async function pushScenario(
  ctx: BenchContext,
  id: 'P1' | 'P2' | 'P1C',
  mode: 'plain' | 'safe',
  baselineFile: string,
): Promise<ThroughputOutcome> {
  const { settings } = ctx;
  const driver = pushDriver(mode);
  const scans = new ScanLoad(ctx, driver);
  const population = await ctx.population();
  // Every scan of a run by another taxpayer: a run is at most the population (less the tickets' slack).
  const maxCount = population.length - 2 * settings.connections;
  const baseline = await ctx.startBaseline(baselineFile);
  const baselineOk = (status: number, body: string) =>
    status === 200 && body.includes(mode === 'plain' ? '<Content>' : '<Encrypt>');
  try {
    // The baselines look at nothing, so one pool of pushes serves every baseline run (cycled).
    const baselinePool = scanPushes(driver, fakeScans(5000), ctx.openids);
    const loadBaselineAt = async (target: ChildServer, seconds: number) => {
      const check = checker(baselineOk);
      const { requests } = requestsOf(baselinePool, true, check.onResponse);
      const result = await runLoad({ url: target.url, connections: settings.connections, duration: seconds, requests });
      const problems = [...check.bad, ...loadProblems('baseline', result)];
      if (problems.length > 0) throw new Error(`${id} baseline answered unexpectedly: ${problems[0]}`);
      return result;
    };

    ctx.log(`${id}: warm-up`);
    await loadBaselineAt(baseline, settings.warmupS);
    const warm = await scans.run(ctx.product, Math.min(maxCount, settings.quick ? 1000 : 3000), population);
    const rate = { misses: warm.reqPerSec, hits: warm.reqPerSec };

    const productRuns: MeasuredRun[] = [];
    const hitRuns: MeasuredRun[] = [];
    const baselineRuns: MeasuredRun[] = [];
    const checks = emptyChecks();
    const hitChecks = emptyChecks();
    // One variant's measured run, sized so it lasts about durationS at the rate seen so far.
    const measure = async (variant: 'misses' | 'hits'): Promise<{ run: MeasuredRun; count: number }> => {
      const count = Math.max(300, Math.min(maxCount, Math.round(rate[variant] * settings.durationS)));
      const openids = variant === 'misses' ? population : ctx.openids;
      const pushes = await scans.prepare(ctx.product, count, openids);
      const quiet = await quietWait(ctx);
      if (variant === 'misses') await boundAccountCache(ctx.product, true);
      const answers = new ScanAnswers();
      let reused = 0;
      const run = await measured(ctx, { product: ctx.product.pid }, quiet, async () => {
        const sent = await scans.send(ctx.product, pushes, count, answers);
        reused = sent.reused;
        return sent.result;
      });
      const runChecks = await scans.check(answers, run, variant === 'misses');
      runChecks.reusedPushes = reused;
      if (variant === 'misses') {
        const misses = await boundAccountCache(ctx.product, false);
        runChecks.cacheMissesPerRun = [misses];
        if (misses < runChecks.good)
          runChecks.bad.push(`only ${misses} bound-account cache misses for ${runChecks.good} scans`);
      }
      await scans.clean();
      addChecks(variant === 'misses' ? checks : hitChecks, runChecks);
      rate[variant] = run.reqPerSec;
      return { run, count };
    };
    for (let k = 0; k < settings.runs; k += 1) {
      const quiet = await quietWait(ctx);
      baselineRuns.push(
        await measured(ctx, { baseline: baseline.pid }, quiet, () => loadBaselineAt(baseline, settings.durationS)),
      );
      const misses = await measure('misses');
      productRuns.push(misses.run);
      const hits = await measure('hits');
      hitRuns.push(hits.run);
      ctx.log(
        `${id} run ${k + 1}/${settings.runs}: baseline ${baselineRuns[k]!.reqPerSec} req/s p99 ${baselineRuns[k]!.latency.p99} ms; ` +
          `product ${misses.run.reqPerSec} req/s p99 ${misses.run.latency.p99} ms (${misses.count} scans, each by another user); ` +
          `cache hits ${hits.run.reqPerSec} req/s p99 ${hits.run.latency.p99} ms (${hits.count} scans by ${ctx.openids.length} users)` +
          `\n    baseline ${describeRun(baselineRuns[k]!)}\n    product  ${describeRun(misses.run)}\n    hits     ${describeRun(hits.run)}`,
      );
    }
    const product = side(productRuns, 'product');
    const hitSide = side(hitRuns, 'product');
    const base = side(baselineRuns, 'baseline');
    const ratio = round(product.reqPerSec / base.reqPerSec, 3);
    const p99Ratio = round(product.p99 / Math.max(base.p99, 1), 2);
    const target = id === 'P1' ? { minRatio: 0.7, maxP99Ratio: 1.5 } : { minRatio: 0.7 };
    const outcome: ThroughputOutcome = {
      id,
      population: `every scan of a run by another of ${population.length.toLocaleString('en')} bound users (bound-account cache emptied before each run)`,
      product,
      baseline: base,
      ratio,
      p99Ratio,
      target,
      pass:
        ratio >= target.minRatio &&
        (target.maxP99Ratio === undefined || p99Ratio <= target.maxP99Ratio) &&
        checks.bad.length === 0 &&
        hitChecks.bad.length === 0,
      checks,
      cacheHit: {
        population: `${ctx.openids.length} bound users in turn (their bindings cached after the first scans)`,
        product: hitSide,
        ratio: round(hitSide.reqPerSec / base.reqPerSec, 3),
        p99Ratio: round(hitSide.p99 / Math.max(base.p99, 1), 2),
        checks: hitChecks,
      },
    };
    if (settings.profile === 'always' || (settings.profile === 'auto' && !outcome.pass)) {
      const count = Math.max(300, Math.min(maxCount, Math.round(rate.misses * settings.durationS)));
      outcome.profiles = await profilePair(ctx, id, baselineFile, {
        warmProduct: async (t) => {
          await scans.run(t, Math.min(maxCount, Math.max(300, Math.round(rate.misses * settings.warmupS))), population);
        },
        prepareProduct: async (t) => {
          const pushes = await scans.prepare(t, count, population);
          await boundAccountCache(t, true);
          return pushes;
        },
        loadProduct: async (t, pushes) => {
          const answers = new ScanAnswers();
          const { result } = await scans.send(t, pushes, count, answers);
          await scans.clean();
          return result.requests;
        },
        warmBaseline: async (t) => {
          await loadBaselineAt(t, settings.warmupS);
        },
        loadBaseline: async (t) => (await loadBaselineAt(t, settings.durationS)).requests,
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
    // The product and the floor answer the ticket's status; the bare Koa baseline a constant ticket view.
    const pending = (status: number, body: string) => status === 200 && body.includes('"status":"pending"');
    const load = async (target: ChildServer, seconds: number, check: Checker) => {
      const { requests } = requestsOf(reads, true, check.onResponse);
      const result = await runLoad({ url: target.url, connections: settings.connections, duration: seconds, requests });
      check.bad.push(...loadProblems(`${target.name} load`, result));
      return result;
    };
    // Warm-ups and profiled loads are checked too: a wrong answer anywhere fails the scenario.
    const unmeasured = checker(pending);
    ctx.log('P3: warm-up');
    await load(baseline, settings.warmupS, unmeasured);
    await load(floor, settings.warmupS, unmeasured);
    await load(ctx.product, settings.warmupS, unmeasured);
    const productRuns: MeasuredRun[] = [];
    const baselineRuns: MeasuredRun[] = [];
    const floorRuns: MeasuredRun[] = [];
    const check = checker(pending);
    const baselineCheck = checker(pending);
    const floorCheck = checker(pending);
    for (let k = 0; k < settings.runs; k += 1) {
      let quiet = await quietWait(ctx);
      baselineRuns.push(
        await measured(ctx, { baseline: baseline.pid }, quiet, () => load(baseline, settings.durationS, baselineCheck)),
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
    const bad = [
      ...check.bad,
      ...baselineCheck.bad.map((b) => `baseline: ${b}`),
      ...floorCheck.bad.map((b) => `floor: ${b}`),
      ...unmeasured.bad.map((b) => `warm-up: ${b}`),
    ].slice(0, 10);
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
      pass: ratio >= 0.8 && bad.length === 0,
      checks: {
        answers: productRuns.reduce((n, r) => n + r.requests, 0),
        good: check.good,
        bad,
        reusedPushes: 0,
      },
    };
    if (settings.profile === 'always' || (settings.profile === 'auto' && !outcome.pass)) {
      const profiled = checker(pending);
      outcome.profiles = await profilePair(ctx, 'P3', 'bench/baselines/koaJson.ts', {
        warmProduct: async (t) => {
          await load(t, settings.warmupS, profiled);
        },
        prepareProduct: () => Promise.resolve(reads),
        loadProduct: async (t) => (await load(t, settings.durationS, profiled)).requests,
        warmBaseline: async (t) => {
          await load(t, settings.warmupS, profiled);
        },
        loadBaseline: async (t) => (await load(t, settings.durationS, profiled)).requests,
      });
      if (profiled.bad.length > 0) outcome.checks.bad.push(...profiled.bad.map((b) => `profiled: ${b}`));
      outcome.pass &&= profiled.bad.length === 0;
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
  /** Loads the profiled product; resolves to the requests it answered. */
  loadProduct(t: ChildServer, prepared: PreparedRequest[]): Promise<number>;
  warmBaseline(t: ChildServer): Promise<void>;
  loadBaseline(t: ChildServer): Promise<number>;
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
): Promise<{ product: ProfiledRun; baseline: ProfiledRun; areas: AreaRow[] }> {
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
  let productRequests: number;
  try {
    await steps.warmProduct(product);
    const prepared = await steps.prepareProduct(product);
    const fromUs = await clock(product);
    productRequests = await steps.loadProduct(product, prepared);
    productWindow = { fromUs, toUs: await clock(product) };
  } finally {
    await product.stop();
  }
  const baseline = await ctx.startBaseline(baselineFile, {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.baseline}`],
  });
  let baselineWindow: ProfileWindow;
  let baselineRequests: number;
  try {
    await steps.warmBaseline(baseline);
    const fromUs = await clock(baseline);
    baselineRequests = await steps.loadBaseline(baseline);
    baselineWindow = { fromUs, toUs: await clock(baseline) };
  } finally {
    await baseline.stop();
  }
  const analyse = (dir: string, window: ProfileWindow, requests: number): ProfiledRun => {
    const file = largestProfile(dir);
    const summary = summariseProfile(file, window);
    const callers: Record<string, ProfileRow[]> = {};
    for (const row of summary.topSelf.slice(0, 6)) {
      const fn = row.name.split(' ')[0]!;
      if (fn.startsWith('(')) continue;
      callers[row.name] = callersOf(file, row.name, window, 10, 4);
    }
    return { summary, requests, callers };
  };
  const productRun = analyse(dirs.product, productWindow, productRequests);
  const baselineRun = analyse(dirs.baseline, baselineWindow, baselineRequests);
  const result = { product: productRun, baseline: baselineRun, areas: areaRows(productRun, baselineRun) };
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

/**
 * CPU per request by area (self time of the profile's busy samples ÷ the requests answered in its
 * window), product beside baseline, largest difference first; areas outside both profiles' top rows
 * are summed as "other", and the last row is the total busy time.
 */
export function areaRows(product: ProfiledRun, baseline: ProfiledRun): AreaRow[] {
  const perRequest = (run: ProfiledRun) => {
    const us = new Map(run.summary.byArea.map((r) => [r.name, (r.ms * 1000) / Math.max(run.requests, 1)]));
    const listed = [...us.values()].reduce((a, b) => a + b, 0);
    return { us, busy: (run.summary.busyMs * 1000) / Math.max(run.requests, 1), listed };
  };
  const p = perRequest(product);
  const b = perRequest(baseline);
  const row = (area: string, productUs: number, baselineUs: number): AreaRow => ({
    area,
    productUs: Math.round(productUs),
    baselineUs: Math.round(baselineUs),
    differenceUs: Math.round(productUs) - Math.round(baselineUs),
  });
  const areas = [...new Set([...p.us.keys(), ...b.us.keys()])]
    .map((area) => row(area, p.us.get(area) ?? 0, b.us.get(area) ?? 0))
    .sort((x, y) => y.differenceUs - x.differenceUs || y.productUs - x.productUs);
  return [...areas, row('other', p.busy - p.listed, b.busy - b.listed), row('total busy', p.busy, b.busy)];
}
