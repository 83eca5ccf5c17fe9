// The WeChat API for a bench run: the project's WeChatSimulator in a process of its own, shared by
// every product instance (so 4 instances see one token server, as with the real WeChat), plus a
// few bench-only controls under /__bench/ (counts, token expiry, QR scene lookup).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import mount from 'koa-mount';
import getRawBody from 'raw-body';
import { WeChatSimulator } from '../src/sandbox/simulator/WeChatSimulator';
import { announceListening } from './lib/child';
import { HOST, WECHAT } from './lib/settings';

const simulator = new WeChatSimulator({
  appId: WECHAT.appId,
  appSecret: WECHAT.appSecret,
  publicBase: 'http://127.0.0.1/sim',
  // A full run creates far more QR codes than WeChat's 100,000 a day (the throughput scenarios hold
  // every ticket open, so each needs a QR of its own); P8 counts the calls itself.
  qrCodeDailyQuota: 1_000_000_000,
});

/** When set, stable_token answers report this many seconds of life (so a bench can cross an expiry soon). */
let tokenLifetimeSeconds = 0;
/** When each successful token fetch was answered (epoch ms). */
const tokenFetchTimes: number[] = [];
/** QR ticket → scene_str, indexed incrementally from the simulator's registry. */
const scenes = new Map<string, string>();
let indexed = 0;
/** Successful qrcode/create answers, counted here so the figure does not depend on the simulator's own records. */
let qrCreates = 0;
/** Added before every WeChat API answer (P9: a realistic round trip to WeChat). */
let latencyMs = 0;

const outer = new Koa();
outer.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/__bench/')) {
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    await next();
    if (
      ctx.path === '/cgi-bin/qrcode/create' &&
      typeof (ctx.body as { ticket?: unknown } | undefined)?.ticket === 'string'
    )
      qrCreates += 1;
    if (ctx.path === '/cgi-bin/stable_token' || ctx.path === '/cgi-bin/token') {
      const body = ctx.body as { access_token?: string; expires_in?: number } | undefined;
      if (body && typeof body.access_token === 'string') {
        tokenFetchTimes.push(Date.now());
        if (tokenLifetimeSeconds > 0) body.expires_in = tokenLifetimeSeconds;
      }
    }
    return;
  }
  switch (`${ctx.method} ${ctx.path}`) {
    case 'GET /__bench/token-fetches':
      ctx.body = { count: simulator.tokenFetches(), times: tokenFetchTimes };
      return;
    case 'POST /__bench/token-lifetime':
      tokenLifetimeSeconds = Number(ctx.query.seconds ?? 0);
      ctx.body = { tokenLifetimeSeconds };
      return;
    case 'POST /__bench/expire-tokens':
      simulator.expireAccessTokens();
      ctx.body = { expiredAt: Date.now() };
      return;
    case 'POST /__bench/qr-scenes': {
      const tickets = JSON.parse(await getRawBody(ctx.req, { encoding: 'utf-8', limit: '64mb' })) as string[];
      const all = simulator.qrCodes();
      for (; indexed < all.length; indexed += 1) {
        const code = all[indexed]!;
        if (code.sceneStr !== undefined) scenes.set(code.ticket, code.sceneStr);
      }
      ctx.body = tickets.map((ticket) => scenes.get(ticket) ?? null);
      return;
    }
    case 'POST /__bench/latency':
      latencyMs = Number(ctx.query.ms ?? 0);
      ctx.body = { latencyMs };
      return;
    case 'GET /__bench/stats':
      ctx.body = {
        calls: simulator.calls.length,
        qrCodes: indexed,
        qrCreates,
        memory: process.memoryUsage(),
      };
      return;
    default:
      ctx.status = 404;
  }
});
outer.use(mount(simulator.app));

const handle = outer.callback();
const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
// WeChat's API servers do not drop connections: a deep accept queue, so bursts of new connections
// from four instances (after a token refresh) are not turned into 1–3 s SYN retries by the stand-in.
server.listen({ port: 0, host: HOST, backlog: 4096 }, () => announceListening((server.address() as AddressInfo).port));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
