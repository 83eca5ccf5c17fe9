import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../src/clock/Clock';
import { PushDriver } from '../../src/sandbox/PushDriver';
import type { ChildServer } from '../lib/child';
import type { BenchContext } from '../lib/context';
import { call, callJson } from '../lib/http';
import { emptyQrPool } from '../lib/storage';
import { waitForQuiet, type Quiet } from '../lib/quiet';
import { PC_IP, PC_USER_AGENT, PORTAL_API_KEY, WECHAT } from '../lib/settings';
import { percentile, round } from '../lib/stats';

/** Simulated seconds per step of the compressed day: every event of a step happens at its start. */
const STEP_S = 10;
const TICKET_TTL_S = 300;
/** The afternoon rush of a filing deadline: arrivals rise linearly to a peak and fall back over this window. */
const RUSH_S = 2.5 * 3600;
const DAY_MS = 24 * 3600_000;

type Fate = 'confirmed' | 'expired' | 'abandoned';

export interface BudgetDay {
  tickets: number;
  qrCreateCalls: number;
  callsPer10k: number;
  peakOpen: number;
  fates: Record<Fate, number>;
  /** Steps whose requests did not all answer as expected (any is a failure). */
  failures: string[];
}

export interface QrBudgetOutcome {
  days: BudgetDay[];
  /** Both days together: what an account sees over the QR codes' life so far. */
  callsPer10kOverall: number;
  target: { callsPer10kFromWarmPool: number; peakOpenAtLeast: number };
  pass: boolean;
}

export interface CreationLatency {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  qrCreateCalls: number;
}

export interface TicketCreationOutcome {
  wechatLatencyMs: number;
  emptyPool: CreationLatency;
  pooled: CreationLatency;
  /**
   * The pooled path must not include a WeChat round trip: no call at all, and a median at least one
   * round trip below the empty pool's median in the same run (so machine load cancels out).
   */
  target: { medianSavingAtLeastMs: number };
  pass: boolean;
  quiet: Quiet;
}

interface Headers {
  [name: string]: string;
}
const KEY: Headers = { authorization: `Bearer ${PORTAL_API_KEY}`, 'content-type': 'application/json' };
const CREATE_BODY = JSON.stringify({ clientIp: PC_IP, userAgent: PC_USER_AGENT });

/** The instance the compressed-day scenarios drive: its clock moves only when the bench says so. */
async function startManualClockProduct(ctx: BenchContext, name: string, start: number): Promise<ChildServer> {
  return ctx.startProduct(name, {
    env: { BENCH_MANUAL_CLOCK: String(start), LOGIN_TICKET_TTL_SECONDS: String(TICKET_TTL_S) },
  });
}

async function setClock(product: ChildServer, local: ManualClock, at: number): Promise<void> {
  local.set(at);
  await callJson('POST', `${product.url}/__bench/manual-clock?set=${at}`);
}

async function qrCreates(ctx: BenchContext): Promise<number> {
  return (await callJson<{ qrCreates: number }>('GET', `${ctx.simulator.url}/__bench/stats`)).qrCreates;
}

/** Arrival offsets (s) of `count` tickets over the rush: the quantiles of a triangular distribution. */
function rushArrivals(count: number): number[] {
  return Array.from({ length: count }, (_, i) => {
    const q = (i + 0.5) / count;
    const x = q < 0.5 ? Math.sqrt(q / 2) : 1 - Math.sqrt((1 - q) / 2);
    return x * RUSH_S;
  });
}

/** 7 in 10 confirmed and redeemed, 2 left to expire, 1 abandoned by a reload; spread evenly over the day. */
function fateOf(i: number): Fate {
  const r = (i * 7) % 10;
  return r < 7 ? 'confirmed' : r < 9 ? 'expired' : 'abandoned';
}

interface Open {
  ticketId: string;
  qrTicket: string;
  fate: Fate;
  createdStep: number;
  confirmToken?: string;
  openid?: string;
}

/**
 * One busy day on instance `product`, whose clock starts at `dayStart`: tickets created through the
 * API at the rush's arrival times; a confirmed one is scanned by a bound WeChat (a signed SCAN push
 * through /wechat) two steps later, confirmed (LoginService.confirm, as the confirm page) and
 * redeemed with the portal key a step after; an expired one is never scanned; an abandoned one is
 * left behind by a reload (the reload's own ticket is one of the day's arrivals), which for the pool
 * is the same as expiring. Counts the qrcode/create calls WeChat answered during the day.
 */
async function busyDay(
  ctx: BenchContext,
  product: ChildServer,
  clock: ManualClock,
  dayStart: number,
  count: number,
): Promise<BudgetDay> {
  const driver = new PushDriver({
    token: WECHAT.token,
    appId: WECHAT.appId,
    accountId: WECHAT.accountId,
    encodingAesKey: WECHAT.encodingAesKey,
    mode: 'plain',
    clock,
  });
  const arrivals = rushArrivals(count);
  const lastStep = Math.ceil((RUSH_S + TICKET_TTL_S * 2) / STEP_S);
  const callsBefore = await qrCreates(ctx);
  const fates: Record<Fate, number> = { confirmed: 0, expired: 0, abandoned: 0 };
  const failures: string[] = [];
  const open: Open[] = [];
  let next = 0;
  let peakOpen = 0;
  let scanCounter = 0;
  const fail = (message: string) => {
    if (failures.length < 10) failures.push(message);
  };

  for (let step = 0; step <= lastStep; step += 1) {
    await setClock(product, clock, dayStart + step * STEP_S * 1000);
    const expiredBefore = step - TICKET_TTL_S / STEP_S;
    for (let i = open.length - 1; i >= 0; i -= 1) if (open[i]!.createdStep <= expiredBefore) open.splice(i, 1);
    const due: number[] = [];
    while (next < count && arrivals[next]! < (step + 1) * STEP_S) due.push(next++);
    const created = await Promise.all(
      due.map(async (i) => {
        const answer = await call('POST', `${product.url}/api/login/tickets`, { body: CREATE_BODY, headers: KEY });
        if (answer.status !== 201) {
          fail(`create: ${answer.status} ${answer.body.slice(0, 160)}`);
          return undefined;
        }
        const body = JSON.parse(answer.body) as { ticketId: string; qrcodeUrl: string };
        const qrTicket = new URL(body.qrcodeUrl).searchParams.get('ticket') ?? '';
        const fate = fateOf(i);
        fates[fate] += 1;
        return { ticketId: body.ticketId, qrTicket, fate, createdStep: step } satisfies Open;
      }),
    );
    for (const ticket of created) if (ticket) open.push(ticket);
    peakOpen = Math.max(peakOpen, open.length);

    const toScan = open.filter((t) => t.fate === 'confirmed' && t.createdStep === step - 2);
    if (toScan.length > 0) {
      const scenes = await callJson<(string | null)[]>(
        'POST',
        `${ctx.simulator.url}/__bench/qr-scenes`,
        toScan.map((t) => t.qrTicket),
      );
      await Promise.all(
        toScan.map(async (ticket, k) => {
          // Distinct WeChat users within a step, so no two scans of one step look alike to the dedupe.
          const openid = ctx.openids[scanCounter++ % ctx.openids.length]!;
          const push = driver.sign(driver.event(openid, 'SCAN', scenes[k] ?? '', { Ticket: ticket.qrTicket }));
          const answer = await call('POST', `${product.url}/wechat?${new URLSearchParams(push.query).toString()}`, {
            body: push.body,
            headers: { 'content-type': 'text/xml' },
          });
          const token = /\/h5\/login\/confirm\?c=([0-9a-f]{48})/.exec(answer.body)?.[1];
          if (!token) return fail(`scan: ${answer.status} ${answer.body.slice(0, 160)}`);
          ticket.confirmToken = token;
          ticket.openid = openid;
        }),
      );
    }

    const toFinish = open.filter((t) => t.confirmToken && t.createdStep === step - 3);
    await Promise.all(
      toFinish.map(async (ticket) => {
        const confirmed = await callJson<{ result: string }>('POST', `${product.url}/__bench/confirm`, {
          confirmToken: ticket.confirmToken,
          openid: ticket.openid,
        });
        if (confirmed.result !== 'done') return fail(`confirm: ${confirmed.result}`);
        const redeemed = await call('POST', `${product.url}/api/login/tickets/${ticket.ticketId}/redeem`, {
          headers: KEY,
        });
        if (redeemed.status !== 200) fail(`redeem: ${redeemed.status} ${redeemed.body.slice(0, 160)}`);
      }),
    );
    const finished = new Set(toFinish.map((t) => t.ticketId));
    for (let i = open.length - 1; i >= 0; i -= 1) if (finished.has(open[i]!.ticketId)) open.splice(i, 1);
  }
  const qrCreateCalls = (await qrCreates(ctx)) - callsBefore;
  return {
    tickets: count,
    qrCreateCalls,
    callsPer10k: round((qrCreateCalls / count) * 10_000, 1),
    peakOpen,
    fates,
    failures,
  };
}

/**
 * P8: two busy days back to back on one instance (the second 24 h after the first, so the QR codes
 * made on day one, with a 7-day WeChat life, are still in the pool). Day one starts from an empty
 * pool, so it pays for every scene the peak holds at once (open tickets plus those resting in their
 * quiet period); the target applies from the second day on.
 */
export async function qrBudgetScenario(ctx: BenchContext): Promise<QrBudgetOutcome> {
  const perDay = ctx.settings.quick ? 4000 : 20_000;
  const start = Math.floor(Date.now() / 1000) * 1000;
  const clock = new ManualClock(start);
  await emptyQrPool(ctx.redis, ctx.run);
  const product = await startManualClockProduct(ctx, 'P8', start);
  const days: BudgetDay[] = [];
  for (let day = 0; day < 2; day += 1) {
    ctx.log(`P8: day ${day + 1}, ${perDay} tickets`);
    const result = await busyDay(ctx, product, clock, start + day * DAY_MS, perDay);
    ctx.log(
      `P8: day ${day + 1}: ${result.qrCreateCalls} qrcode/create calls (${result.callsPer10k} per 10,000), peak ${result.peakOpen} open`,
    );
    days.push(result);
  }
  const calls = days.reduce((sum, d) => sum + d.qrCreateCalls, 0);
  const target = { callsPer10kFromWarmPool: 100, peakOpenAtLeast: ctx.settings.quick ? 50 : 500 };
  return {
    days,
    callsPer10kOverall: round((calls / (perDay * days.length)) * 10_000, 1),
    target,
    pass:
      days.every((d) => d.failures.length === 0 && d.peakOpen >= target.peakOpenAtLeast && d.tickets === perDay) &&
      days[1]!.callsPer10k <= target.callsPer10kFromWarmPool,
  };
}

/** Creates `count` tickets, `concurrency` at a time, each timed from request to full answer. */
async function timedCreations(product: ChildServer, count: number, concurrency: number): Promise<number[]> {
  const pool = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let issued = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < count) {
          issued += 1;
          const sent = performance.now();
          const answer = await call('POST', `${product.url}/api/login/tickets`, {
            body: CREATE_BODY,
            headers: KEY,
            agent: pool,
          });
          if (answer.status !== 201)
            throw new Error(`P9: create answered ${answer.status} ${answer.body.slice(0, 200)}`);
          latencies.push(performance.now() - sent);
        }
      }),
    );
  } finally {
    pool.destroy();
  }
  return latencies;
}

/**
 * P9: `POST /api/login/tickets` with the simulator adding a WeChat round trip to every call. First
 * from an empty pool (every ticket waits for qrcode/create: the code before the pool), then, once
 * those tickets have expired and rested, the same number served from the pool.
 */
export async function ticketCreationScenario(ctx: BenchContext): Promise<TicketCreationOutcome> {
  const count = ctx.settings.quick ? 300 : 1000;
  const concurrency = 8;
  const wechatLatencyMs = 80;
  const start = Math.floor(Date.now() / 1000) * 1000;
  const clock = new ManualClock(start);
  await emptyQrPool(ctx.redis, ctx.run);
  const product = await startManualClockProduct(ctx, 'P9', start);
  await callJson('POST', `${ctx.simulator.url}/__bench/latency?ms=${wechatLatencyMs}`);
  try {
    const measure = async (): Promise<CreationLatency> => {
      const before = await qrCreates(ctx);
      const latencies = await timedCreations(product, count, concurrency);
      return {
        samples: latencies.length,
        p50: round(percentile(latencies, 50), 2),
        p99: round(percentile(latencies, 99), 2),
        max: round(Math.max(...latencies), 2),
        qrCreateCalls: (await qrCreates(ctx)) - before,
      };
    };
    const quiet = await waitForQuiet(ctx.settings.quietWaitS);
    const emptyPool = await measure();
    // Past the tickets' expiry and the scenes' quiet period: every scene is idle again.
    await setClock(product, clock, start + (TICKET_TTL_S * 2 + STEP_S) * 1000);
    const pooled = await measure();
    ctx.log(
      `P9: empty pool p50 ${emptyPool.p50} p99 ${emptyPool.p99} ms; pooled p50 ${pooled.p50} p99 ${pooled.p99} ms`,
    );
    const target = { medianSavingAtLeastMs: wechatLatencyMs };
    return {
      wechatLatencyMs,
      emptyPool,
      pooled,
      target,
      quiet,
      pass:
        emptyPool.qrCreateCalls === count &&
        pooled.qrCreateCalls === 0 &&
        emptyPool.p50 - pooled.p50 >= target.medianSavingAtLeastMs,
    };
  } finally {
    await callJson('POST', `${ctx.simulator.url}/__bench/latency?ms=0`);
  }
}
