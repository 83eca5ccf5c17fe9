// For the P5 diagnosis (bench/pollMemory.ts): a server that holds every request until told to let go,
// so the heap a held request costs can be measured for bare node:http, bare Koa, Koa with five async
// middleware, and Koa with five middleware plus a pino child logger per request (as requestContext does).
// Mode: argv[2] = http | koa | koa-5-middleware | koa-5-middleware-pino-child.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { announceListening } from '../lib/child';
import { HOST } from '../lib/settings';
import type { Handler } from './serve';

const mode = process.argv[2] ?? 'http';
const held: (() => void)[] = [];
const logger = pino(
  {
    level: 'info',
    base: { service: 'etax-wechat' },
    redact: { paths: ['*.password', '*.secret'], censor: '[redacted]' },
  },
  pino.destination('/dev/null'),
);

let handler: Handler;
if (mode === 'http') {
  handler = (_req, res) => {
    held.push(() => res.end('{}'));
  };
} else {
  const app = new Koa();
  if (mode === 'koa-5-middleware-pino-child') {
    app.use(async (ctx, next) => {
      const child = logger.child({ requestId: randomUUID() });
      await next();
      child.info({ path: ctx.path, status: ctx.status }, 'request');
    });
  }
  if (mode.startsWith('koa-5-middleware')) {
    for (let i = 0; i < 5; i += 1) {
      app.use(async (_ctx, next) => {
        await next();
      });
    }
  }
  app.use(async (ctx) => {
    await new Promise<void>((resolve) => held.push(resolve));
    ctx.body = {};
  });
  handler = app.callback();
}

const server = createServer((req, res) => {
  if (req.url === '/__bench/heap') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    res.end(JSON.stringify({ heapUsed: process.memoryUsage().heapUsed, held: held.length }));
    return;
  }
  if (req.url === '/__bench/release') {
    for (const release of held.splice(0)) release();
    res.end('{}');
    return;
  }
  void handler(req, res);
});
server.listen(0, HOST, () => announceListening((server.address() as AddressInfo).port));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  process.exit(0);
});
