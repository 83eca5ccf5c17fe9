import type { ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** A loopback port that was free a moment ago (the OS picks it; the probe closes before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to 127.0.0.1:port is accepted ('open') or refused ('refused'). */
export function probePort(port: number): Promise<'open' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === 'ECONNREFUSED') resolve('refused');
      else reject(error);
    });
  });
}

/**
 * Waits until `condition` holds, checking every `everyMs` for at most `withinMs` (a bounded loop:
 * for things no event announces, like another process opening a port). Throws saying what it waited for.
 */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean> | boolean,
  withinMs = 10_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (let attempt = 0; ; attempt++) {
    if (await condition()) return;
    if (Date.now() >= deadline)
      throw new Error(`gave up after ${withinMs} ms (${attempt + 1} checks) waiting for ${what}`);
    await delay(everyMs);
  }
}

/** Waits until 127.0.0.1:port accepts connections; fails early when `child` exits meanwhile. */
export async function waitForPort(
  port: number,
  withinMs = 20_000,
  child?: ChildProcess,
  describe = () => '',
): Promise<void> {
  await waitUntil(
    `127.0.0.1:${port} to accept connections`,
    async () => {
      if (child && child.exitCode !== null)
        throw new Error(`the process exited with ${child.exitCode} before opening port ${port}\n${describe()}`);
      return (await probePort(port)) === 'open';
    },
    withinMs,
    50,
  );
}

/** The exit of a child process (code and signal), or a rejection when it has not exited within `withinMs`. */
export function waitForExit(
  child: ChildProcess,
  withinMs = 15_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`process ${child.pid} did not exit within ${withinMs} ms`)),
      withinMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Runs `work` and says how many milliseconds it took, with its value. */
export async function timed<T>(work: () => PromiseLike<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
}
