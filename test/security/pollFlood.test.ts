import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHttpServer, HTTP_SERVER_LIMITS } from '../../src/http/httpServer';
import { testEnvironment } from '../support/testEnv';
import { loadConfig } from '../../src/config/loadConfig';
import { World } from './support/world';

const statusOf = (outcome: PollOutcome) => (JSON.parse(outcome.body) as { status: string }).status;
const openDescriptors = () => readdirSync('/proc/self/fd').length;

interface PollOutcome {
  status: number;
  body: string;
  afterMs: number;
}

/** One long-poll on its own connection; `abort` drops the connection (a browser tab closed). */
function poll(base: string, ticketId: string, query: string): { done: Promise<PollOutcome>; abort(): void } {
  const began = Date.now();
  let req!: ClientRequest;
  const done = new Promise<PollOutcome>((resolve, reject) => {
    req = httpRequest(`${base}/api/login/tickets/${ticketId}${query}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, afterMs: Date.now() - began }));
    });
    req.on('error', reject);
    req.end();
  });
  return { done, abort: () => req.destroy() };
}

async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function until(what: string, condition: () => boolean, withinMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A ticket id is on the portal's page, so anyone may long-poll it: thousands of `?wait=30` polls on
 * one ticket (or from one client) held a connection and ~15 KB each for 30 s, and 20,000 ran the
 * process out of file descriptors. Now a few are held per ticket and per client IP, the rest are
 * answered at once; the HTTP server closes slow and surplus connections.
 */
describe('security: long-poll floods and connection limits (ASVS V2.4.1, V13.1.2)', () => {
  const defaults = loadConfig(testEnvironment()).longPoll;

  describe('polls', () => {
    const w = new World();
    let server: Server;
    let base: string;
    before(async () => {
      await w.start();
      server = createHttpServer(w.t.app.callback(), { ...HTTP_SERVER_LIMITS, maxConnections: 15_000 });
      base = await listenOn(server);
    });
    after(async () => {
      await closeServer(server);
      await w.stop();
    });
    beforeEach(() => w.reset());

    it(`V2.4.1: holds at most ${defaults.maxPerTicket} polls of 1,000 on one ticket, answers the rest at once with the current status, and frees the descriptors`, async () => {
      const ticket = await w.createTicket();
      const fdsBefore = openDescriptors();
      const polls = Array.from({ length: 1000 }, () => poll(base, ticket.ticketId, '?wait=30&status=pending'));
      const held = polls.slice(0, defaults.maxPerTicket);
      const answered = await Promise.all(polls.slice(defaults.maxPerTicket).map((p) => p.done));
      assert.ok(
        answered.every((a) => a.status === 200 && statusOf(a) === 'pending'),
        'every poll past the limit got the current status',
      );
      assert.ok(Math.max(...answered.map((a) => a.afterMs)) < 10_000, 'at once, not after the 30 s wait');
      assert.equal(w.t.deps.ticketChanges.waiting, defaults.maxPerTicket);
      // Each held poll is two descriptors in this process (client and server side); nothing else stays.
      await until('the answered connections to close', () => openDescriptors() <= fdsBefore + 2 * held.length + 4);
      // A client that leaves frees its waiter and its slot at once.
      for (const p of held) p.abort();
      await Promise.allSettled(held.map((p) => p.done));
      await until('the abandoned waiters to go', () => w.t.deps.ticketChanges.waiting === 0);
      const again = poll(base, ticket.ticketId, '?wait=30&status=pending');
      await until('a new poll to be held', () => w.t.deps.ticketChanges.waiting === 1);
      again.abort();
      await again.done.catch(() => undefined);
      await until('its waiter to go', () => w.t.deps.ticketChanges.waiting === 0);
    });

    it(`V2.4.1: holds at most ${defaults.maxPerIp} polls from one client IP across tickets`, async () => {
      const tickets = [];
      for (let i = 0; i < defaults.maxPerIp + 5; i++) tickets.push(await w.createTicket());
      const held = tickets.slice(0, defaults.maxPerIp).map((t) => poll(base, t.ticketId, '?wait=30&status=pending'));
      await until('the first polls to be held', () => w.t.deps.ticketChanges.waiting === defaults.maxPerIp);
      const extra = await Promise.all(
        tickets.slice(defaults.maxPerIp).map((t) => poll(base, t.ticketId, '?wait=30&status=pending').done),
      );
      assert.deepEqual(
        extra.map((a) => [a.status, statusOf(a)]),
        Array(5).fill([200, 'pending']),
      );
      assert.ok(Math.max(...extra.map((a) => a.afterMs)) < 5000, 'answered at once');
      assert.equal(w.t.deps.ticketChanges.waiting, defaults.maxPerIp);
      const polls = held;
      for (const p of polls) p.abort();
      await Promise.allSettled(polls.map((p) => p.done));
      await until('every waiter to go', () => w.t.deps.ticketChanges.waiting === 0);
    });
  });

  describe('the HTTP server', () => {
    const limits = { headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 500, checkIntervalMs: 100 };
    let server: Server;
    let port: number;
    beforeEach(async () => {
      server = createHttpServer((_req, res) => res.end('ok'), { ...limits, maxConnections: 20 });
      await listenOn(server);
      port = (server.address() as AddressInfo).port;
    });
    afterEach(() => closeServer(server));

    const closedWithin = (socket: Socket, ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });

    it('V13.1.2: closes a connection whose headers trickle in (slowloris) after headersTimeout', async () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 100);
      try {
        assert.equal(await closedWithin(socket, 3000), true);
      } finally {
        clearInterval(drip);
      }
    });

    it('V13.1.2: accepts at most maxConnections at once and closes the others as they arrive', async () => {
      const sockets = Array.from({ length: 60 }, () => {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        return s;
      });
      const closed = await Promise.all(sockets.map((s) => closedWithin(s, 1000)));
      assert.equal(closed.filter((c) => !c).length, 20, 'the first 20 stay open, idle');
      for (const s of sockets) s.destroy();
    });

    it('production values: headers within 10 s, the request within 15 s, keep-alive 5 s', () => {
      const production = createHttpServer(() => undefined, { ...HTTP_SERVER_LIMITS, maxConnections: 15_000 });
      assert.equal(production.headersTimeout, 10_000);
      assert.equal(production.requestTimeout, 15_000);
      assert.equal(production.keepAliveTimeout, 5_000);
      assert.equal(production.maxConnections, 15_000);
    });
  });
});
