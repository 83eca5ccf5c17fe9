import { readFileSync } from 'node:fs';
import { sleep } from './stats';

function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Share of all cores (0–100) busy over the next `ms`, machine-wide. */
export async function cpuBusy(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return Math.round(((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 1000) / 10;
}

export interface Quiet {
  /** Machine-wide CPU busy % in the last second before the measurement started (our servers idle). */
  busyPct: number;
  waitedS: number;
}

/**
 * Other work on the machine skews every figure (the servers under test get less CPU): before a
 * measured run, wait (bounded) until the machine is quiet, and record how busy it was.
 */
export async function waitForQuiet(maxWaitS: number, thresholdPct = 15): Promise<Quiet> {
  const started = Date.now();
  let busy = await cpuBusy();
  while (busy > thresholdPct && Date.now() - started < maxWaitS * 1000) busy = await cpuBusy();
  return { busyPct: busy, waitedS: Math.round((Date.now() - started) / 100) / 10 };
}
