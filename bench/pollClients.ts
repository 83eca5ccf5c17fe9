// P5's client side, in a process of its own: opens N long-polls (one socket each) against one
// product instance and reports, over IPC, how they were answered. Bounded: every poll is abandoned
// at the deadline and counted as an error.
import { request } from 'node:http';
import { readFileSync } from 'node:fs';

interface PollPlan {
  base: string;
  ticketIdsFile: string;
  count: number;
  waitSeconds: number;
  /** Opened per tick, one tick every tickMs (a ramp, as browsers arrive over time, not in one SYN burst). */
  perTick: number;
  tickMs: number;
  deadlineMs: number;
}

const plan = JSON.parse(process.env.BENCH_POLL ?? '{}') as PollPlan;
const ticketIds = JSON.parse(readFileSync(plan.ticketIdsFile, 'utf8')) as string[];
const statusCounts: Record<string, number> = {};
const errorCounts: Record<string, number> = {};
const answeredAfterMs: number[] = [];
const startedAt = Date.now();
let sent = 0;
let finished = 0;
const open = new Set<ReturnType<typeof request>>();

function poll(i: number): void {
  const id = ticketIds[i % ticketIds.length]!;
  const began = Date.now();
  const req = request(
    `${plan.base}/api/login/tickets/${id}?wait=${plan.waitSeconds}&status=pending`,
    { agent: false },
    (res) => {
      res.resume();
      res.on('end', () => {
        open.delete(req);
        finished += 1;
        statusCounts[String(res.statusCode)] = (statusCounts[String(res.statusCode)] ?? 0) + 1;
        answeredAfterMs.push(Date.now() - began);
      });
    },
  );
  req.on('error', (error: NodeJS.ErrnoException) => {
    open.delete(req);
    finished += 1;
    errorCounts[error.code ?? error.message] = (errorCounts[error.code ?? error.message] ?? 0) + 1;
  });
  open.add(req);
  req.end();
  sent += 1;
}

const ramp = setInterval(() => {
  for (let k = 0; k < plan.perTick && sent < plan.count; k += 1) poll(sent);
  if (sent >= plan.count) {
    clearInterval(ramp);
    process.send?.({ type: 'opened', sent, atMs: Date.now() - startedAt });
  }
}, plan.tickMs);

const progress = setInterval(() => process.send?.({ type: 'progress', sent, finished }), 500);

const done = setInterval(() => {
  const late = Date.now() - startedAt > plan.deadlineMs;
  if ((sent >= plan.count && finished >= sent) || late) {
    clearInterval(done);
    clearInterval(progress);
    clearInterval(ramp);
    for (const req of open) {
      errorCounts.abandoned_at_deadline = (errorCounts.abandoned_at_deadline ?? 0) + 1;
      req.destroy();
    }
    answeredAfterMs.sort((a, b) => a - b);
    const at = (p: number) =>
      answeredAfterMs[Math.min(answeredAfterMs.length - 1, Math.floor((p / 100) * answeredAfterMs.length))] ?? null;
    process.send?.(
      {
        type: 'result',
        value: {
          sent,
          finished,
          statusCounts,
          errorCounts,
          answeredAfterMs: { min: answeredAfterMs[0] ?? null, p50: at(50), max: at(100) },
        },
      },
      () => process.exit(0),
    );
  }
}, 100);
