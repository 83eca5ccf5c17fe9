import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceListening } from '../lib/child';
import { HOST } from '../lib/settings';

/** A node:http listener or Koa's `app.callback()`, whose promise never rejects (Koa answers its own errors). */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Listens on 127.0.0.1 (a free port), tells the parent the port, and exits on SIGTERM. */
export function serve(handler: Handler): void {
  const server = createServer((req, res) => {
    // The process's monotonic clock in µs, the one V8 stamps --cpu-prof samples with (to window a profile).
    if (req.url === '/__bench/clock') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ hrtimeUs: Number(process.hrtime.bigint() / 1000n) }));
      return;
    }
    void handler(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, HOST, () => announceListening((server.address() as AddressInfo).port));
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
