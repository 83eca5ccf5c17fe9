import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { compiledPath } from './build';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export interface ChildServer {
  name: string;
  pid: number;
  port: number;
  url: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  /** A .ts file under the project: run as compiled by buildServers() (plain node), or through tsx when `tsx` is set. */
  file: string;
  tsx?: boolean;
  args?: string[];
  env: Record<string, string>;
  /** Extra Node flags (--cpu-prof, --expose-gc, --max-old-space-size…). */
  nodeArgs?: string[];
  /** Where stdout goes: a file, or nowhere (a server's JSON logs still get serialised, as in production). */
  stdoutFile?: string;
  stderrFile: string;
  startTimeoutMs?: number;
}

const children = new Set<ChildProcess>();

/** The base environment of every child: enough to run node, nothing of the parent's configuration. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Starts a server as its own Node process (so it never shares an event loop with the load
 * generator) and waits for it to report, over IPC, the port it listens on (always 127.0.0.1).
 */
function nodeArgsFor(options: Pick<SpawnOptions, 'file' | 'tsx' | 'nodeArgs' | 'args'>): string[] {
  const entry = options.tsx ? ['--import', 'tsx', options.file] : [compiledPath(options.file)];
  return [...(options.nodeArgs ?? []), ...entry, ...(options.args ?? [])];
}

export function spawnServer(options: SpawnOptions): Promise<ChildServer> {
  const stdout = options.stdoutFile ? openSync(options.stdoutFile, 'a') : 'ignore';
  const stderr = openSync(options.stderrFile, 'a');
  const child = spawn(process.execPath, nodeArgsFor(options), {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv(), ...options.env },
    stdio: ['ignore', stdout, stderr, 'ipc'],
  });
  if (typeof stdout === 'number') closeSync(stdout);
  closeSync(stderr);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? -1 : null));
    });
  });

  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  return new Promise<ChildServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(1000);
      reject(
        new Error(
          `${options.name} did not start within ${options.startTimeoutMs ?? 60_000} ms; see ${options.stderrFile}`,
        ),
      );
    }, options.startTimeoutMs ?? 60_000);
    child.on('message', (message: unknown) => {
      const m = message as { type?: string; port?: number };
      if (m.type === 'listening' && typeof m.port === 'number') {
        clearTimeout(timer);
        resolve({
          name: options.name,
          pid: child.pid!,
          port: m.port,
          url: `http://127.0.0.1:${m.port}`,
          process: child,
          stop,
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code}) before listening:\n${tail(options.stderrFile)}`));
    });
  });
}

/** Spawns a worker script (not a server) and resolves with its last IPC message of type 'result'. */
export function runWorker<T>(
  options: Omit<SpawnOptions, 'startTimeoutMs'> & { timeoutMs: number; onMessage?: (m: unknown) => void },
): Promise<T> {
  const stderr = openSync(options.stderrFile, 'a');
  const child = spawn(process.execPath, nodeArgsFor(options), {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv(), ...options.env },
    stdio: ['ignore', 'ignore', stderr, 'ipc'],
  });
  closeSync(stderr);
  children.add(child);
  return new Promise<T>((resolve, reject) => {
    let result: T | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not finish within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on('message', (message: unknown) => {
      const m = message as { type?: string; value?: T };
      if (m.type === 'result') result = m.value;
      else options.onMessage?.(message);
    });
    child.once('exit', (code) => {
      children.delete(child);
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${options.name} exited (${code}) without a result:\n${tail(options.stderrFile)}`));
    });
  });
}

/** Kills every child this process started that is still running (by its own handle, never by name). */
export function killAllChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
}

/** VmRSS of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

/** Used by a child: tells the parent which port the server listens on. */
export function announceListening(port: number): void {
  if (process.send) process.send({ type: 'listening', port });
  else process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
}
