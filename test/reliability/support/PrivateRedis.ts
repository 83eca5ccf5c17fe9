import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForExit, waitForPort } from './processes';

export interface PrivateRedisOptions {
  /**
   * 'none' (the default): `--save '' --appendonly no`, so a restart loses everything, as a cache-only
   * Redis would. 'aof': `--appendonly yes --appendfsync always` in a temporary directory, so a
   * restart (even after SIGKILL) keeps every acknowledged write, as the production advice says.
   */
  persistence?: 'none' | 'aof';
  /** More command-line settings (replication, cluster mode), after the defaults. */
  args?: string[];
  /** A config file's text, written to the server's own directory and read first (Sentinel needs one it may rewrite). */
  configFile?: string;
}

/** Every private server this process started, so a failed test cannot leave one running. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A `redis-server` of the test's own on a free loopback port, which the test may stop, kill and
 * restart (on the same port) without touching the shared Redis the rest of the suite uses.
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly args: string[],
    readonly dir: string,
  ) {}

  /** The running server's process id (a bench meters its CPU). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    // A free port can be taken by another process before redis-server binds it: try a new one.
    for (let attempt = 1; ; attempt++) {
      try {
        return await PrivateRedis.startOnFreePort(options);
      } catch (error) {
        if (attempt === 3 || !/Address already in use/.test(String(error))) throw error;
      }
    }
  }

  private static async startOnFreePort(options: PrivateRedisOptions): Promise<PrivateRedis> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'etax-redis-'));
    const args: string[] = [];
    if (options.configFile !== undefined) {
      writeFileSync(path.join(dir, 'redis.conf'), options.configFile);
      args.push(path.join(dir, 'redis.conf'));
    }
    args.push('--port', String(port), '--bind', '127.0.0.1', '--save', '', '--protected-mode', 'yes', '--dir', dir);
    if (options.persistence === 'aof') args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    args.push(...(options.args ?? []));
    const redis = new PrivateRedis(port, args, dir);
    try {
      await redis.launch();
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.child !== null;
  }

  /** Starts the server again on the same port (after stop or kill). */
  async restart(): Promise<void> {
    if (this.child) throw new Error('this private redis-server is still running');
    await this.launch();
  }

  /** Stops the server: SIGTERM is a clean shutdown, SIGKILL a crash. Resolves once it has exited. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await waitForExit(child, 10_000);
    this.child = null;
    running.delete(child);
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung Redis. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    this.output = '';
    const child = spawn('redis-server', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.output = (this.output + chunk).slice(-4000);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.output = (this.output + chunk).slice(-4000);
    });
    child.once('exit', () => running.delete(child));
    this.child = child;
    try {
      await waitForPort(this.port, 10_000, child, () => this.output);
    } catch (error) {
      child.kill('SIGKILL');
      this.child = null;
      throw error;
    }
  }
}
