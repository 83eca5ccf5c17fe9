import assert from 'node:assert/strict';
import http from 'node:http';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { listen } from '../support/testApp';
import { env, PORTAL_KEY } from './support/faultRig';
import { probePort, waitUntil } from './support/processes';
import { rawRequest, ServiceProcess } from './support/serviceProcess';

/** How long the simulator holds the in-flight qrcode/create (under the client's timeout, WECHAT_API_TIMEOUT_MS=4000). */
const IN_FLIGHT_MS = 3000;

describe('reliability: graceful shutdown of the real server process (src/server.ts, SIGTERM)', function () {
  this.timeout(90_000);
  const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET! });
  let simServer: Awaited<ReturnType<typeof listen>>;
  let service: ServiceProcess;
  const agent = new http.Agent({ keepAlive: true });

  before(async () => {
    simServer = await listen(sim.app);
    service = await ServiceProcess.start('src/server.ts', {
      LOG_LEVEL: 'info',
      WECHAT_API_TIMEOUT_MS: '4000',
      WECHAT_API_BASE: simServer.url,
      WECHAT_OPEN_BASE: simServer.url,
      WECHAT_MP_BASE: simServer.url,
    });
  });
  after(async () => {
    agent.destroy();
    await service?.dispose();
    await simServer?.close();
  });

  const createTicket = () =>
    rawRequest(`${service.url}/api/login/tickets`, {
      method: 'POST',
      headers: { authorization: PORTAL_KEY, 'content-type': 'application/json' },
      body: '{}',
      agent,
    });

  it('answers the held long-poll with the current status, finishes the in-flight request, refuses new connections, exits 0', async () => {
    const created = await createTicket().response;
    assert.equal(created.status, 201, created.body);
    const { ticketId } = JSON.parse(created.body) as { ticketId: string };

    // A browser's long-poll, held (up to 30 s), on a keep-alive connection.
    const poll = rawRequest(`${service.url}/api/login/tickets/${ticketId}?wait=30&status=pending`, { agent });
    await poll.sent;
    // A request in flight: the simulator holds its qrcode/create call.
    sim.failNext('/cgi-bin/qrcode/create', { hangMs: IN_FLIGHT_MS });
    const calls = sim.calls.length;
    const inFlight = createTicket();
    let inFlightDone = false;
    void inFlight.response.then(
      () => {
        inFlightDone = true;
      },
      () => {
        inFlightDone = true;
      },
    );
    await waitUntil('the in-flight request to reach WeChat', () =>
      sim.calls.slice(calls).some((c) => c.path === '/cgi-bin/qrcode/create'),
    );

    const signalledAt = Date.now();
    service.child.kill('SIGTERM');

    const answered = await poll.response;
    const pollMs = Date.now() - signalledAt;
    assert.equal(answered.status, 200, answered.body);
    assert.deepEqual(Object.keys(JSON.parse(answered.body) as object).sort(), ['expiresAt', 'status', 'ticketId']);
    assert.equal((JSON.parse(answered.body) as { status: string }).status, 'pending', 'the current status');
    assert.ok(pollMs < 2000, `the held poll was answered ${pollMs} ms after SIGTERM`);

    // Still running (the in-flight request is not done), yet no longer accepting.
    assert.equal(inFlightDone, false, 'the in-flight request is still running');
    assert.equal(service.child.exitCode, null);
    assert.equal(await probePort(service.port), 'refused', 'new connections are refused');

    const finished = await inFlight.response;
    assert.equal(finished.status, 201, `the in-flight request finished: ${finished.body}`);

    const exit = await service.exited(10_000);
    assert.deepEqual(exit, { code: 0, signal: null }, service.output());
    const exitMs = Date.now() - signalledAt;
    assert.ok(exitMs < IN_FLIGHT_MS + 3000, `exited ${exitMs} ms after SIGTERM`);
    const messages = service.logLines().map((line) => line.msg);
    assert.ok(messages.includes('shutting down'), service.output());
  });

  it('exits 1 at SHUTDOWN_TIMEOUT_MS when a request is still not done, saying so', async () => {
    const impatient = await ServiceProcess.start('src/server.ts', {
      LOG_LEVEL: 'info',
      WECHAT_API_TIMEOUT_MS: '4000',
      SHUTDOWN_TIMEOUT_MS: '500',
      WECHAT_API_BASE: simServer.url,
      WECHAT_OPEN_BASE: simServer.url,
      WECHAT_MP_BASE: simServer.url,
    });
    try {
      sim.failNext('/cgi-bin/qrcode/create', { hangMs: IN_FLIGHT_MS });
      const calls = sim.calls.length;
      const inFlight = rawRequest(`${impatient.url}/api/login/tickets`, {
        method: 'POST',
        headers: { authorization: PORTAL_KEY, 'content-type': 'application/json' },
        body: '{}',
      });
      void inFlight.response.catch(() => undefined);
      await waitUntil('the in-flight request to reach WeChat', () =>
        sim.calls.slice(calls).some((c) => c.path === '/cgi-bin/qrcode/create'),
      );
      const signalledAt = Date.now();
      impatient.child.kill('SIGTERM');
      const exit = await impatient.exited(10_000);
      const exitMs = Date.now() - signalledAt;
      assert.deepEqual(exit, { code: 1, signal: null }, impatient.output());
      assert.ok(
        exitMs >= 500 && exitMs < IN_FLIGHT_MS,
        `exited ${exitMs} ms after SIGTERM, before the request could finish`,
      );
      const deadline = impatient
        .logLines()
        .find((line) => line.msg === 'shutdown deadline passed: exiting with work unfinished');
      assert.ok(deadline, impatient.output());
      assert.equal(deadline.level, 50);
    } finally {
      await impatient.dispose();
    }
  });
});
