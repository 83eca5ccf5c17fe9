import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { testEnvironment } from '../../support/testEnv';
import { freePort, waitForExit, waitForPort } from './processes';

const projectRoot = path.resolve(__dirname, '../../..');
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

/** Every process this file started, so a failed test cannot leave one running. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The service as a real child process (`node --import tsx <entry>`) on a free loopback port, with
 * the test environment plus `env`. The working directory is an empty temporary one so a developer's
 * `.env` cannot fill in anything. Its stdout (JSON log lines) and stderr are kept for assertions.
 */
export class ServiceProcess {
  stdout = '';
  stderr = '';

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    private readonly cwd: string,
  ) {}

  static async start(entry: string, env: Record<string, string>, port?: number): Promise<ServiceProcess> {
    const listenPort = port ?? (await freePort());
    const cwd = mkdtempSync(path.join(tmpdir(), 'etax-service-'));
    const child = spawn(process.execPath, ['--import', tsxLoader, path.join(projectRoot, entry)], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        TSX_TSCONFIG_PATH: path.join(projectRoot, 'tsconfig.json'),
        ...testEnvironment({ PORT: String(listenPort), PUBLIC_URL: `http://127.0.0.1:${listenPort}`, ...env }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const service = new ServiceProcess(child, listenPort, cwd);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      service.stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      service.stderr += chunk;
    });
    try {
      await waitForPort(listenPort, 60_000, child, () => service.output());
    } catch (error) {
      await service.dispose();
      throw error;
    }
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The process's log lines that parse as JSON. */
  logLines(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /**
   * The first log line with this `msg`, as soon as the process writes it: the port accepts
   * connections a moment before the line that says so reaches the pipe.
   */
  async logLine(msg: string, withinMs = 15_000): Promise<Record<string, unknown>> {
    const find = () => this.logLines().find((line) => line.msg === msg);
    const seen = find();
    if (seen) return seen;
    return new Promise((resolve, reject) => {
      const onData = () => {
        const line = find();
        if (!line) return;
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.child.stdout!.off('data', onData);
        reject(new Error(`no "${msg}" log line within ${withinMs} ms\n${this.output()}`));
      }, withinMs);
      this.child.stdout!.on('data', onData);
    });
  }

  output(): string {
    return `--- stdout\n${this.stdout.slice(-3000)}\n--- stderr\n${this.stderr.slice(-3000)}`;
  }

  exited(withinMs = 15_000) {
    return waitForExit(this.child, withinMs);
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await waitForExit(this.child, 10_000).catch(() => undefined);
    }
    rmSync(this.cwd, { recursive: true, force: true });
  }
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * An HTTP request over node:http, resolving `sent` once the whole request is on the wire (so a test
 * knows the server can read it) and `response` with the full answer.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {},
): { sent: Promise<void>; response: Promise<RawResponse> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => {
    markSent = resolve;
  });
  const response = new Promise<RawResponse>((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('finish', () => markSent());
    req.end(options.body);
  });
  return { sent, response };
}
