import autocannon from 'autocannon';
import { round } from './stats';

export interface LoadResult {
  requests: number;
  /** From the first request sent to the last answer received, by this process's own clock. */
  durationS: number;
  /** Completed requests per second over durationS. */
  reqPerSec: number;
  /** Latency in ms as autocannon measures it (1 ms resolution). */
  latency: { p50: number; p90: number; p99: number; p999: number; mean: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** One autocannon run from this process (the servers under test run in processes of their own). */
export async function runLoad(options: autocannon.Options): Promise<LoadResult> {
  // autocannon stops only on its 1 s tick, so its own duration adds up to a second of idle time to a
  // run sized by request count; the answers' own timestamps give count- and time-sized runs one rule.
  const startedAt = performance.now();
  let lastAnswerAt = startedAt;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const tracker = autocannon({ timeout: 10, ...options }, (error, finished) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(finished),
    );
    tracker.on('response', () => {
      lastAnswerAt = performance.now();
    });
  });
  const requests = result.requests.total;
  const seconds = (lastAnswerAt - startedAt) / 1000;
  return {
    requests,
    durationS: round(seconds, 3),
    reqPerSec: round(requests / Math.max(seconds, 1e-3), 1),
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      p999: result.latency.p99_9,
      mean: round(result.latency.mean, 2),
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** A request list for autocannon that hands out the next prepared request to every connection, never one twice. */
export function sequence(
  prepared: { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> }[],
  options: { cycle: boolean },
) {
  let next = 0;
  let exhausted = 0;
  const setupRequest = (request: autocannon.Request): autocannon.Request => {
    if (next >= prepared.length) {
      if (!options.cycle) exhausted += 1;
      next = 0;
    }
    const item = prepared[next++]!;
    return {
      ...request,
      method: item.method,
      path: item.path,
      headers: { ...(request.headers ?? {}), ...(item.headers ?? {}) },
      ...(item.body === undefined ? {} : { body: item.body }),
    };
  };
  return { setupRequest, used: () => next, exhausted: () => exhausted };
}
