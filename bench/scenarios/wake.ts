import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ChildServer } from '../lib/child';
import type { BenchContext } from '../lib/context';
import { call, callJson } from '../lib/http';
import { waitForQuiet, type Quiet } from '../lib/quiet';
import { percentile, round, waitFor } from '../lib/stats';
import { createTickets, pushDriver, scanPushes } from '../lib/tickets';

export interface WakeStats {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The confirm call's own round trip (Lua CAS + audit row), for context. */
  confirmP50: number;
  confirmP99: number;
}

export interface WakeOutcome {
  same: WakeStats;
  across: WakeStats;
  target: { sameP99Ms: number; acrossP99Ms: number };
  pass: boolean;
  failures: string[];
  quiet: Quiet;
}

interface Scanned {
  ticketId: string;
  confirmToken: string;
  openid: string;
}

/**
 * P4: a long-poll held on instance A (GET …/:id?wait=30&status=scanned) and the ticket confirmed
 * through LoginService.confirm on A itself ("same") or on B ("across"); the latency is from the
 * moment the confirm request is sent to the moment the poll's answer has fully arrived. Samples
 * alternate same/across and run one at a time with nothing else loading the machine.
 */
export async function wakeScenario(ctx: BenchContext, instanceB: ChildServer): Promise<WakeOutcome> {
  const a = ctx.product;
  const perMode = ctx.settings.quick ? 60 : 500;
  const warmups = 20;
  const total = 2 * perMode + warmups;
  ctx.log(`P4: preparing ${total} scanned tickets`);
  const tickets = await createTickets(a.url, ctx.simulator.url, total);
  // Scan each with a bound user (through /wechat, as WeChat would), and read the confirm link from the reply.
  const driver = pushDriver('plain');
  const pushes = scanPushes(driver, tickets, ctx.openids);
  const scanned: Scanned[] = [];
  for (let i = 0; i < pushes.length; i += 16) {
    const batch = await Promise.all(
      pushes
        .slice(i, i + 16)
        .map((push) => call('POST', `${a.url}${push.path}`, { body: push.body!, headers: push.headers! })),
    );
    batch.forEach((answer, k) => {
      const token = /\/h5\/login\/confirm\?c=([0-9a-f]{48})/.exec(answer.body)?.[1];
      if (answer.status !== 200 || !token)
        throw new Error(`P4: scan not answered with a confirm link: ${answer.status} ${answer.body.slice(0, 200)}`);
      scanned.push({
        ticketId: tickets[i + k]!.ticketId,
        confirmToken: token,
        openid: ctx.openids[(i + k) % ctx.openids.length]!,
      });
    });
  }

  const quiet = await waitForQuiet(ctx.settings.quietWaitS);
  const pollAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const failures: string[] = [];
  const latencies = { same: [] as number[], across: [] as number[] };
  const confirms = { same: [] as number[], across: [] as number[] };
  try {
    for (let i = 0; i < scanned.length; i += 1) {
      const mode = i % 2 === 0 ? 'same' : 'across';
      const via = mode === 'same' ? a : instanceB;
      const ticket = scanned[i]!;
      const waitingBefore = (await callJson<{ waiting: number }>('GET', `${a.url}/__bench/stats`)).waiting;
      const poll = call('GET', `${a.url}/api/login/tickets/${ticket.ticketId}?wait=30&status=scanned`, {
        agent: pollAgent,
        timeoutMs: 40_000,
      }).then((answer) => ({ answer, at: performance.now() }));
      // Confirm only once the poll is held (registered with the hub), so the wake is what gets measured.
      await waitFor(
        'the long-poll to be held',
        async () => {
          const { waiting } = await callJson<{ waiting: number }>('GET', `${a.url}/__bench/stats`);
          return waiting > waitingBefore ? true : undefined;
        },
        5000,
        1,
      );
      const sentAt = performance.now();
      const outcome = await callJson<{ result: string }>('POST', `${via.url}/__bench/confirm`, {
        confirmToken: ticket.confirmToken,
        openid: ticket.openid,
      });
      const confirmedAt = performance.now();
      const { answer, at } = await poll;
      const status = answer.status === 200 ? (JSON.parse(answer.body) as { status?: string }).status : undefined;
      if (outcome.result !== 'done' || status !== 'confirmed') {
        if (failures.length < 10)
          failures.push(`${mode}: confirm ${outcome.result}, poll ${answer.status} ${answer.body.slice(0, 120)}`);
        continue;
      }
      if (i < warmups) continue;
      latencies[mode].push(at - sentAt);
      confirms[mode].push(confirmedAt - sentAt);
    }
  } finally {
    pollAgent.destroy();
  }
  const stats = (mode: 'same' | 'across'): WakeStats => ({
    samples: latencies[mode].length,
    p50: round(percentile(latencies[mode], 50), 2),
    p90: round(percentile(latencies[mode], 90), 2),
    p99: round(percentile(latencies[mode], 99), 2),
    max: round(Math.max(...latencies[mode]), 2),
    confirmP50: round(percentile(confirms[mode], 50), 2),
    confirmP99: round(percentile(confirms[mode], 99), 2),
  });
  const same = stats('same');
  const across = stats('across');
  const target = { sameP99Ms: 10, acrossP99Ms: 15 };
  ctx.log(`P4: same p50 ${same.p50} p99 ${same.p99} ms; across p50 ${across.p50} p99 ${across.p99} ms`);
  return {
    same,
    across,
    target,
    failures,
    quiet,
    pass:
      failures.length === 0 &&
      same.samples === perMode &&
      across.samples === perMode &&
      same.p99 <= target.sameP99Ms &&
      across.p99 <= target.acrossP99Ms,
  };
}
