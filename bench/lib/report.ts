import type { LongPollOutcome, TicketMemoryOutcome } from '../scenarios/memory';
import type { ThroughputOutcome } from '../scenarios/throughput';
import type { TokenOutcome } from '../scenarios/tokens';
import type { WakeOutcome } from '../scenarios/wake';
import type { Machine } from './machine';
import type { Settings } from './context';

export interface Results {
  startedAt: string;
  finishedAt?: string;
  settings: Settings;
  machine?: Machine;
  benchRunId: string;
  commit: string;
  simulator: string;
  P1?: ThroughputOutcome;
  P2?: ThroughputOutcome;
  P3?: ThroughputOutcome;
  P4?: WakeOutcome;
  P5?: LongPollOutcome;
  P6?: TicketMemoryOutcome;
  P7?: TokenOutcome;
  errors: { scenario: string; error: string }[];
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const mark = (pass: boolean | undefined) => (pass === undefined ? '—' : pass ? 'PASS' : 'FAIL');

function throughputRow(o: ThroughputOutcome, scenario: string): string {
  const target =
    o.target.maxP99Ratio !== undefined
      ? `≥ ${o.target.minRatio.toFixed(2)} req/s; p99 ≤ ${o.target.maxP99Ratio}×`
      : `≥ ${o.target.minRatio.toFixed(2)} req/s`;
  return (
    `| ${o.id} | ${scenario} | ${o.product.reqPerSec} req/s, p50 ${o.product.p50} ms, p99 ${o.product.p99} ms; ${o.product.cpuMsPerRequest} ms CPU/req ` +
    `| ${o.baseline.reqPerSec} req/s, p50 ${o.baseline.p50} ms, p99 ${o.baseline.p99} ms; ${o.baseline.cpuMsPerRequest} ms CPU/req ` +
    `| **${o.ratio.toFixed(2)}** req/s; p99 ${o.p99Ratio.toFixed(2)}× | ${target} | ${mark(o.pass)} |`
  );
}

export function resultsTable(r: Results): string {
  const rows = [
    '| id | scenario | product (median of runs) | baseline, same run | ratio | target | result |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  if (r.P1) rows.push(throughputRow(r.P1, 'signed plain SCAN of a bound user, full path'));
  if (r.P2) rows.push(throughputRow(r.P2, 'the same in safe (AES) mode'));
  if (r.P3) rows.push(throughputRow(r.P3, '`GET /api/login/tickets/:id`'));
  if (r.P4) {
    const { same, across } = r.P4;
    rows.push(
      `| P4 | long-poll wake, confirm → poll answered | same: p50 ${same.p50} ms, p99 **${same.p99}** ms (n=${same.samples}); ` +
        `across: p50 ${across.p50} ms, p99 **${across.p99}** ms (n=${across.samples}) | — | — | p99 ≤ ${r.P4.target.sameP99Ms} ms / ≤ ${r.P4.target.acrossP99Ms} ms | ${mark(r.P4.pass)} |`,
    );
  }
  if (r.P5) {
    const o = r.P5;
    const errors = Object.values(o.errorCounts).reduce((a, b) => a + b, 0);
    rows.push(
      `| P5 | ${o.polls.toLocaleString('en')} concurrent long-polls, one instance | ${o.heldConfirmedByServer} held; RSS **+${mb(o.rssGrowth)}** ` +
        `(${mb(o.heldRss)} held; ${o.rssGrowthPerPoll} B/poll); answers ${JSON.stringify(o.statusCounts)}, errors ${errors} | idle RSS ${mb(o.idleRss)} | — ` +
        `| no errors; ≤ 150 MB growth | ${mark(o.pass)} |`,
    );
  }
  if (r.P6) {
    const o = r.P6;
    rows.push(
      `| P6 | Redis memory per live ticket | MEMORY USAGE **${o.memoryUsageMean} B** mean (one: ${o.memoryUsageOne} B, ${o.encoding}); ` +
        `INFO used_memory Δ **${o.perTicketInfoDelta} B**/ticket over ${o.tickets.toLocaleString('en')} | — | — | ≤ 1 KiB | ${mark(o.pass)} |`,
    );
  }
  if (r.P7) {
    const o = r.P7;
    const counts = o.fetchesAtExpiry
      .slice(1)
      .map((e) => e.fetches)
      .join(' and ');
    rows.push(
      `| P7 | access-token fetches, ${o.instances} instances × ${o.connectionsPerInstance} concurrent calls | **${counts}** fetches at the two expiries ` +
        `(${o.fetchesAtExpiry[0]!.fetches} before); ${o.calls.toLocaleString('en')} calls, ${o.failedCalls} failed | — | — | exactly 1 per expiry | ${mark(o.pass)} |`,
    );
  }
  if (r.P3?.floor) {
    const f = r.P3.floor;
    rows.push(
      '',
      `P3 floor, same runs: bare Koa + the one Redis HGETALL a read needs (bench/baselines/koaRedisRead.ts) answers ${f.reqPerSec} req/s ` +
        `(p99 ${f.p99} ms; ${f.cpuMsPerRequest} ms CPU/req), **${f.ratioToBaseline.toFixed(2)}** of bare Koa; the product reaches **${f.productRatioToFloor.toFixed(2)}** of that floor.`,
    );
  }
  return rows.join('\n');
}

/** How busy the machine was (other processes; ours idle) just before each measurement. */
export function backgroundLine(r: Results): string {
  const parts: string[] = [];
  for (const id of ['P1', 'P2', 'P3'] as const) {
    const o = r[id];
    if (!o) continue;
    const all = [...o.baseline.runs, ...o.product.runs].map((run) => run.quiet.busyPct);
    parts.push(`${id} ${Math.min(...all)}–${Math.max(...all)}%`);
  }
  if (r.P4) parts.push(`P4 ${r.P4.quiet.busyPct}%`);
  if (r.P5) parts.push(`P5 ${r.P5.quiet.busyPct}%`);
  if (r.P7) parts.push(`P7 ${r.P7.quiet.busyPct}%`);
  return parts.length
    ? `Machine-wide CPU busy in the second before each measurement (other processes; ours idle): ${parts.join(', ')}.`
    : '';
}

export function machineLine(m: Machine | undefined): string {
  if (!m) return '';
  return `${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; Redis ${m.redis}; MariaDB ${m.mariadb}; autocannon ${m.autocannon}; open files ${m.fdLimit}`;
}
