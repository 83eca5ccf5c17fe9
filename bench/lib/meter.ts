import { readdirSync, readFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import type { BenchRedis } from './storage';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU time (user + system) a process has used so far, in ms; null when it is gone. */
export function cpuMsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The pid of a running program by its command name (e.g. mariadbd); only read, never signalled. */
export function pidByName(name: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** TcpExt ListenOverflows (machine-wide): connections a full accept queue dropped (the client retries the SYN after 1 s, 3 s…). */
export function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('ListenOverflows')] ?? 0);
  } catch {
    return 0;
  }
}

export interface MeterReading {
  wallMs: number;
  /** SYNs dropped because some listener's accept queue was full, machine-wide, during the run. */
  listenOverflows: number;
  /** Cores used by each process over the run (1.0 = one core fully busy). */
  cores: Record<string, number>;
  /** Deltas of MariaDB's global status counters (every client of the server counts). */
  mariadb: Record<string, number>;
  /** Redis commands processed, in total and by command (every client of the server counts). */
  redisCommands: number;
  redisByCommand: Record<string, number>;
}

const MARIADB_COUNTERS = [
  'Questions',
  'Com_select',
  'Com_insert',
  'Com_update',
  'Com_begin',
  'Com_commit',
  'Innodb_log_writes',
  'Innodb_data_fsyncs',
];

async function mariadbStatus(db: Connection): Promise<Record<string, number>> {
  const [rows] = await db.query(
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${MARIADB_COUNTERS.map((c) => `'${c}'`).join(',')})`,
  );
  const out: Record<string, number> = {};
  for (const row of rows as { Variable_name: string; Value: string }[]) out[row.Variable_name] = Number(row.Value);
  return out;
}

async function redisCommandStats(redis: BenchRedis): Promise<{ total: number; byCommand: Record<string, number> }> {
  const stats = String(await redis.info('stats'));
  const commands = String(await redis.info('commandstats'));
  const byCommand: Record<string, number> = {};
  for (const m of commands.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) byCommand[m[1]!] = Number(m[2]);
  return { total: Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? 0), byCommand };
}

/**
 * Measures what a run costs beyond the server under test: CPU of each process involved (the load
 * generator, MariaDB, Redis, the simulator), statements MariaDB ran and commands Redis processed.
 */
export async function startMeter(
  pids: Record<string, number | undefined>,
  db: Connection,
  redis: BenchRedis,
): Promise<() => Promise<MeterReading>> {
  const started = Date.now();
  const cpu0: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const ms = pid === undefined ? null : cpuMsOf(pid);
    if (ms !== null) cpu0[name] = ms;
  }
  const overflows0 = listenOverflows();
  const status0 = await mariadbStatus(db);
  const redis0 = await redisCommandStats(redis);
  return async () => {
    const wallMs = Date.now() - started;
    const cores: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const ms = pid === undefined ? null : cpuMsOf(pid);
      if (ms !== null && cpu0[name] !== undefined) cores[name] = Math.round(((ms - cpu0[name]) / wallMs) * 100) / 100;
    }
    const status1 = await mariadbStatus(db);
    const redis1 = await redisCommandStats(redis);
    const mariadb: Record<string, number> = {};
    for (const name of MARIADB_COUNTERS) mariadb[name] = (status1[name] ?? 0) - (status0[name] ?? 0);
    const byCommand: Record<string, number> = {};
    for (const [name, calls] of Object.entries(redis1.byCommand)) {
      const delta = calls - (redis0.byCommand[name] ?? 0);
      if (delta > 0) byCommand[name] = delta;
    }
    // The meter's own INFO calls and SHOW STATUS are a handful; not subtracted.
    return {
      wallMs,
      listenOverflows: listenOverflows() - overflows0,
      cores,
      mariadb,
      redisCommands: redis1.total - redis0.total,
      redisByCommand: byCommand,
    };
  };
}

/** A reading divided by the requests served: statements and commands per request. */
export function perRequest(reading: MeterReading, requests: number): Record<string, number> {
  const out: Record<string, number> = {};
  const r = Math.max(requests, 1);
  for (const [name, value] of Object.entries(reading.mariadb))
    if (value > 0) out[`mysql ${name}`] = Math.round((value / r) * 100) / 100;
  out['redis commands'] = Math.round((reading.redisCommands / r) * 100) / 100;
  for (const [name, value] of Object.entries(reading.redisByCommand)) {
    if (value / r >= 0.05) out[`redis ${name}`] = Math.round((value / r) * 100) / 100;
  }
  return out;
}
