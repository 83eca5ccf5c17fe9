import type { LongPollOutcome, TicketMemoryOutcome } from '../scenarios/memory';
import type { QrBudgetOutcome, TicketCreationOutcome } from '../scenarios/qrBudget';
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
  /** The command line of the run. */
  command: string;
  /** How the product instances were configured, and what differs from a deployment. */
  product: string;
  simulator: string;
  P1?: ThroughputOutcome;
  P2?: ThroughputOutcome;
  P3?: ThroughputOutcome;
  P4?: WakeOutcome;
  P5?: LongPollOutcome;
  P6?: TicketMemoryOutcome;
  P7?: TokenOutcome;
  P8?: QrBudgetOutcome;
  P9?: TicketCreationOutcome;
  /** The Redis Cluster P1C and P4C ran on. */
  cluster?: string;
  P1C?: ThroughputOutcome;
  P4C?: WakeOutcome;
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

function cacheHitRow(o: ThroughputOutcome): string {
  const h = o.cacheHit!;
  return (
    `| ${o.id} hits | the same, ${h.population} | ${h.product.reqPerSec} req/s, p50 ${h.product.p50} ms, p99 ${h.product.p99} ms; ${h.product.cpuMsPerRequest} ms CPU/req ` +
    `| the same baseline runs | ${h.ratio.toFixed(2)} req/s; p99 ${h.p99Ratio.toFixed(2)}× | (comparison) | — |`
  );
}

/** "12,345 answers, all good (12,345 confirm links, 12,345 users); misses per run 4,100, 4,050" */
function checksLine(id: string, checks: ThroughputOutcome['checks']): string {
  const parts = [`${checks.answers.toLocaleString('en')} answers checked, ${checks.good.toLocaleString('en')} good`];
  if (checks.distinctLinks !== undefined)
    parts.push(
      `${checks.distinctLinks.toLocaleString('en')} distinct confirm links, ${checks.distinctUsers!.toLocaleString('en')} distinct users (per run, summed)`,
    );
  if (checks.cacheMissesPerRun)
    parts.push(
      `bound-account cache misses per run: ${checks.cacheMissesPerRun.map((n) => n.toLocaleString('en')).join(', ')}`,
    );
  if (checks.bad.length > 0) parts.push(`problems: ${checks.bad.join(' | ')}`);
  return `- ${id}: ${parts.join('; ')}.`;
}

/** The CPU-per-request table of a profiled throughput scenario, from its profiles and request counts. */
export function areaTable(o: ThroughputOutcome, baselineName: string): string {
  if (!o.profiles) return '';
  const { product, baseline, areas } = o.profiles;
  return [
    `${o.id}: CPU per request by area (µs), from the profiles of this run: product ${product.requests.toLocaleString('en')} requests in ${product.summary.wallMs} ms, ` +
      `${baselineName} ${baseline.requests.toLocaleString('en')} in ${baseline.summary.wallMs} ms.`,
    '',
    `| area | product | ${baselineName} | difference |`,
    '| --- | --- | --- | --- |',
    ...areas.map(
      (a) => `| ${a.area} | ${a.productUs} | ${a.baselineUs} | ${a.differenceUs >= 0 ? '+' : ''}${a.differenceUs} |`,
    ),
  ].join('\n');
}

const BASELINE_NAMES: Record<string, string> = {
  P1: 'bare co-wechat',
  P2: 'bare co-wechat (AES)',
  P3: 'bare Koa',
  P1C: 'bare co-wechat',
};

/** What results.md adds under the table: every answer's check, and the area tables of the profiled scenarios. */
export function detailsSection(r: Results): string {
  const throughput = (['P1', 'P2', 'P3', 'P1C'] as const).map((id) => r[id]).filter((o) => o !== undefined);
  const lines: string[] = [];
  if (throughput.length > 0) {
    lines.push('Answers checked (every product answer of every measured run):', '');
    for (const o of throughput) {
      lines.push(checksLine(o.id, o.checks));
      if (o.cacheHit) lines.push(checksLine(`${o.id} hits`, o.cacheHit.checks));
    }
  }
  for (const o of throughput) {
    const table = areaTable(o, BASELINE_NAMES[o.id]!);
    if (table) lines.push('', table);
  }
  return lines.join('\n');
}

function wakeRow(o: WakeOutcome, id: string, scenario: string): string {
  const { same, across } = o;
  return (
    `| ${id} | ${scenario} | same: p50 ${same.p50} ms, p99 **${same.p99}** ms (n=${same.samples}); ` +
    `across: p50 ${across.p50} ms, p99 **${across.p99}** ms (n=${across.samples}) | — | — | p99 ≤ ${o.target.sameP99Ms} ms / ≤ ${o.target.acrossP99Ms} ms | ${mark(o.pass)} |`
  );
}

export function resultsTable(r: Results): string {
  const rows = [
    '| id | scenario | product (median of runs) | baseline, same run | ratio | target | result |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  if (r.P1)
    rows.push(throughputRow(r.P1, 'signed plain SCAN, full path, every scan by another bound user (cache misses)'));
  if (r.P1?.cacheHit) rows.push(cacheHitRow(r.P1));
  if (r.P2) rows.push(throughputRow(r.P2, 'the same in safe (AES) mode, every reply decrypted and checked'));
  if (r.P2?.cacheHit) rows.push(cacheHitRow(r.P2));
  if (r.P3) rows.push(throughputRow(r.P3, '`GET /api/login/tickets/:id`'));
  if (r.P4) rows.push(wakeRow(r.P4, 'P4', 'long-poll wake, confirm → poll answered'));
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
  if (r.P8) {
    const o = r.P8;
    const days = o.days
      .map(
        (d, i) =>
          `day ${i + 1}: **${d.callsPer10k}** per 10,000 (${d.qrCreateCalls} calls for ${d.tickets.toLocaleString('en')} tickets, peak ${d.peakOpen} open)`,
      )
      .join('; ');
    rows.push(
      `| P8 | qrcode/create calls per 10,000 tickets, two busy days (70 % redeemed, 20 % expired, 10 % abandoned) | ${days}; both days ${o.callsPer10kOverall} | one per ticket: 10,000 | — ` +
        `| ≤ ${o.target.callsPer10kFromWarmPool} from the second day; peak ≥ ${o.target.peakOpenAtLeast} open | ${mark(o.pass)} |`,
    );
  }
  if (r.P9) {
    const o = r.P9;
    rows.push(
      `| P9 | \`POST /api/login/tickets\`, WeChat answering in ${o.wechatLatencyMs} ms | pooled: p50 ${o.pooled.p50} ms, p99 **${o.pooled.p99}** ms (n=${o.pooled.samples}, ${o.pooled.qrCreateCalls} WeChat calls) ` +
        `| empty pool (a WeChat call each, as before the pool): p50 ${o.emptyPool.p50} ms, p99 ${o.emptyPool.p99} ms (${o.emptyPool.qrCreateCalls} calls) | — | no WeChat call; p50 ≥ ${o.target.medianSavingAtLeastMs} ms below the empty pool's | ${mark(o.pass)} |`,
    );
  }
  if (r.P1C) rows.push(throughputRow(r.P1C, 'P1 with every instance on the Redis Cluster'));
  if (r.P1C?.cacheHit) rows.push(cacheHitRow(r.P1C));
  if (r.P4C) rows.push(wakeRow(r.P4C, 'P4C', 'P4 with both instances on the Redis Cluster'));
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
  for (const id of ['P1', 'P2', 'P3', 'P1C'] as const) {
    const o = r[id];
    if (!o) continue;
    const all = [...o.baseline.runs, ...o.product.runs].map((run) => run.quiet.busyPct);
    parts.push(`${id} ${Math.min(...all)}–${Math.max(...all)}%`);
  }
  if (r.P4) parts.push(`P4 ${r.P4.quiet.busyPct}%`);
  if (r.P4C) parts.push(`P4C ${r.P4C.quiet.busyPct}%`);
  if (r.P5) parts.push(`P5 ${r.P5.quiet.busyPct}%`);
  if (r.P7) parts.push(`P7 ${r.P7.quiet.busyPct}%`);
  if (r.P9) parts.push(`P9 ${r.P9.quiet.busyPct}%`);
  return parts.length
    ? `Machine-wide CPU busy in the second before each measurement (other processes; ours idle): ${parts.join(', ')}.`
    : '';
}

export function machineLine(m: Machine | undefined): string {
  if (!m) return '';
  return `${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; Redis ${m.redis}; MariaDB ${m.mariadb}; autocannon ${m.autocannon}; open files ${m.fdLimit}`;
}

/** results.md of a run: what ran, where, how configured, the results table and every check. */
export function resultsMarkdown(r: Results): string {
  const { settings } = r;
  return [
    `# Bench ${settings.quick ? 'quick' : 'full'} run ${r.startedAt}, commit ${r.commit}`,
    '',
    `Command: \`${r.command}\``,
    '',
    `Machine: ${machineLine(r.machine)}`,
    '',
    `Product: ${r.product}`,
    '',
    ...(r.cluster ? [`P1C/P4C: ${r.cluster}.`, ''] : []),
    `Settings: ${settings.connections} connections, ${settings.runs} run(s) of ${settings.durationS} s after ${settings.warmupS} s warm-up, median reported; LOG_LEVEL=${settings.logLevel}.`,
    '',
    resultsTable(r),
    '',
    backgroundLine(r),
    '',
    detailsSection(r),
    '',
    ...(r.errors.length ? ['Errors:', ...r.errors.map((e) => `- ${e.scenario}: ${e.error}`)] : []),
  ].join('\n');
}
