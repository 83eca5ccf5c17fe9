import type { ChildServer } from '../lib/child';
import type { MeterReading } from '../lib/meter';
import type { BenchContext } from '../lib/context';
import { callJson } from '../lib/http';
import { runLoad, type LoadResult } from '../lib/load';
import { waitForQuiet, type Quiet } from '../lib/quiet';
import { sleep } from '../lib/stats';
import { emptyQrPool } from '../lib/storage';
import { PC_IP, PC_USER_AGENT, PORTAL_API_KEY } from '../lib/settings';

export interface TokenOutcome {
  instances: number;
  connectionsPerInstance: number;
  tokenLifetimeS: number;
  /** Token fetches the simulator answered during the load, by expiry. */
  fetchesAtExpiry: { expiry: string; at: string; fetches: number }[];
  totalFetchesDuringLoad: number;
  calls: number;
  failedCalls: number;
  /** Status codes of every answer, and a few of the failed answers. */
  statusCounts: Record<string, number>;
  failureSamples: string[];
  perInstance: { name: string; reqPerSec: number; non2xx: number; errors: number }[];
  pass: boolean;
  quiet: Quiet;
  /** CPU of every process during the load (the simulator is the one WeChat server for all four instances). */
  meter: MeterReading;
}

/**
 * P7: 4 instances, each kept busy by 200 concurrent API calls that need the access token
 * (POST /api/login/tickets → qrcode/create), across two token expiries:
 *  1. WeChat expires the token (the simulator answers 42001 from then on): the reactive refresh;
 *  2. the token reaches its refresh time (the simulator reports a short lifetime, so the stored
 *     token's refresh point falls inside the run): the proactive refresh.
 * The simulator counts token fetches; each expiry must cost exactly one.
 */
export async function tokenScenario(ctx: BenchContext, others: ChildServer[]): Promise<TokenOutcome> {
  const instances = [ctx.product, ...others];
  const connectionsPerInstance = 200;
  const lifetime = ctx.settings.quick ? 10 : 20;
  const sim = ctx.simulator.url;
  await callJson('POST', `${sim}/__bench/token-lifetime?seconds=${lifetime}`);
  // Every ticket must need qrcode/create (so the access token) for the expiries to be exercised.
  await emptyQrPool(ctx.redis, ctx.run);
  const quiet = await waitForQuiet(ctx.settings.quietWaitS);
  const before = await callJson<{ count: number; times: number[] }>('GET', `${sim}/__bench/token-fetches`);
  // Expiry 1 at +1 s; the token fetched then has its refresh point at +lifetime/2; stop 3 s after that.
  const durationS = 1 + lifetime / 2 + 3;
  ctx.log(
    `P7: ${instances.length} instances × ${connectionsPerInstance} concurrent calls for ${durationS} s; token expires at +1 s, refresh due at ≈ +${1 + lifetime / 2} s`,
  );
  const stopMeter = await ctx.meter(
    Object.fromEntries(instances.map((i) => [i.name.replace('product ', 'product'), i.pid])),
  );
  const statusCounts: Record<string, number> = {};
  const failureSamples: string[] = [];
  const loads = instances.map((instance) =>
    runLoad({
      url: instance.url,
      connections: connectionsPerInstance,
      duration: durationS,
      timeout: 20,
      requests: [
        {
          method: 'POST',
          path: '/api/login/tickets',
          headers: { authorization: `Bearer ${PORTAL_API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ clientIp: PC_IP, userAgent: PC_USER_AGENT }),
          onResponse: (status: number, body: string) => {
            statusCounts[String(status)] = (statusCounts[String(status)] ?? 0) + 1;
            if (status !== 201 && failureSamples.length < 5)
              failureSamples.push(`${instance.name}: ${status} ${body.slice(0, 200)}`);
          },
        },
      ],
    }),
  );
  await sleep(1000);
  const { expiredAt } = await callJson<{ expiredAt: number }>('POST', `${sim}/__bench/expire-tokens`);
  const results: LoadResult[] = await Promise.all(loads);
  const meter = await stopMeter();
  const after = await callJson<{ count: number; times: number[] }>('GET', `${sim}/__bench/token-fetches`);
  await callJson('POST', `${sim}/__bench/token-lifetime?seconds=0`);

  const fetches = after.times.slice(before.times.length);
  // Fetches answered after the expiry and before the new token's refresh point belong to expiry 1.
  const firstAfter = fetches.find((t) => t >= expiredAt);
  const refreshDue = firstAfter === undefined ? expiredAt + (lifetime / 2) * 1000 : firstAfter + (lifetime / 2) * 1000;
  const expiry1 = fetches.filter((t) => t >= expiredAt && t < refreshDue - 250).length;
  const expiry2 = fetches.filter((t) => t >= refreshDue - 250).length;
  const strays = fetches.filter((t) => t < expiredAt).length;
  const failedCalls = results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
  const outcome: TokenOutcome = {
    instances: instances.length,
    connectionsPerInstance,
    tokenLifetimeS: lifetime,
    fetchesAtExpiry: [
      { expiry: 'before the expiry (should be none)', at: '', fetches: strays },
      { expiry: 'WeChat expired the token (42001)', at: new Date(expiredAt).toISOString(), fetches: expiry1 },
      { expiry: 'the stored token reached its refresh time', at: new Date(refreshDue).toISOString(), fetches: expiry2 },
    ],
    totalFetchesDuringLoad: fetches.length,
    calls: results.reduce((n, r) => n + r.requests, 0),
    failedCalls,
    statusCounts,
    failureSamples,
    perInstance: results.map((r, i) => ({
      name: instances[i]!.name,
      reqPerSec: r.reqPerSec,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
    })),
    // The target is about fetches; refused calls (503 when WeChat is slow under this overload) are
    // reported beside it, but a connection error or a timeout fails the scenario.
    pass: strays === 0 && expiry1 === 1 && expiry2 === 1 && results.every((r) => r.errors === 0 && r.timeouts === 0),
    quiet,
    meter,
  };
  ctx.log(
    `P7: fetches ${strays} before, ${expiry1} at the 42001 expiry, ${expiry2} at the refresh point; ${outcome.calls} calls, ${failedCalls} failed ` +
      `(${JSON.stringify(statusCounts)}); accept-queue overflows during the load: ${meter.listenOverflows}; cores ${JSON.stringify(meter.cores)}`,
  );
  return outcome;
}
