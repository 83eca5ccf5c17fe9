import { PushDriver, type PushMode } from '../../src/sandbox/PushDriver';
import { callJson } from './http';
import { runLoad } from './load';
import { PC_IP, PC_USER_AGENT, PORTAL_API_KEY, WECHAT } from './settings';

export interface CreatedTicket {
  ticketId: string;
  /** The WeChat QR ticket (from qrcodeUrl) and the scene_str inside the QR, as WeChat would push them. */
  qrTicket: string;
  sceneStr: string;
}

export interface PreparedRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

const CREATE_BODY = JSON.stringify({ clientIp: PC_IP, userAgent: PC_USER_AGENT });

/**
 * Creates `count` login tickets through the portal API (POST /api/login/tickets, which calls
 * qrcode/create at the simulator), 64 at a time; bounded to 3 rounds. Then asks the simulator which
 * scene each QR carries. Never part of a timed measurement.
 */
export async function createTickets(
  productUrl: string,
  simulatorUrl: string,
  count: number,
  connections = 64,
): Promise<CreatedTicket[]> {
  const created: { ticketId: string; qrTicket: string }[] = [];
  const failures: string[] = [];
  for (let round = 0; round < 3 && created.length < count; round += 1) {
    const want = count - created.length;
    await runLoad({
      url: productUrl,
      connections: Math.min(connections, want),
      amount: want,
      requests: [
        {
          method: 'POST',
          path: '/api/login/tickets',
          headers: { authorization: `Bearer ${PORTAL_API_KEY}`, 'content-type': 'application/json' },
          body: CREATE_BODY,
          onResponse: (status: number, body: string) => {
            if (status !== 201) {
              if (failures.length < 5) failures.push(`${status} ${body.slice(0, 200)}`);
              return;
            }
            const answer = JSON.parse(body) as { ticketId: string; qrcodeUrl: string };
            created.push({
              ticketId: answer.ticketId,
              qrTicket: new URL(answer.qrcodeUrl).searchParams.get('ticket') ?? '',
            });
          },
        },
      ],
    });
  }
  if (created.length < count)
    throw new Error(`created ${created.length} of ${count} tickets; failures: ${failures.join(' | ')}`);
  const tickets = created.slice(0, count);
  const scenes: (string | null)[] = [];
  for (let i = 0; i < tickets.length; i += 5000) {
    scenes.push(
      ...(await callJson<(string | null)[]>(
        'POST',
        `${simulatorUrl}/__bench/qr-scenes`,
        tickets.slice(i, i + 5000).map((t) => t.qrTicket),
      )),
    );
  }
  return tickets.map((t, i) => {
    const sceneStr = scenes[i];
    if (!sceneStr) throw new Error(`the simulator knows no scene for QR ticket ${t.qrTicket}`);
    return { ...t, sceneStr };
  });
}

export function pushDriver(mode: PushMode): PushDriver {
  return new PushDriver({
    token: WECHAT.token,
    appId: WECHAT.appId,
    accountId: WECHAT.accountId,
    encodingAesKey: WECHAT.encodingAesKey,
    mode,
  });
}

/**
 * One signed SCAN push per ticket, as WeChat sends it when a follower scans the QR: EventKey is
 * the scene_str, Ticket the QR ticket, a fresh nonce and the current timestamp. Distinct EventKeys
 * keep every push distinct for the dedupe (FromUserName + CreateTime + Event + EventKey).
 */
export function scanPushes(
  driver: PushDriver,
  tickets: { sceneStr: string; qrTicket: string }[],
  openids: string[],
): PreparedRequest[] {
  return tickets.map((ticket, i) => {
    const push = driver.sign(
      driver.event(openids[i % openids.length]!, 'SCAN', ticket.sceneStr, { Ticket: ticket.qrTicket }),
    );
    return {
      method: 'POST' as const,
      path: `/wechat?${new URLSearchParams(push.query).toString()}`,
      body: push.body,
      headers: { 'content-type': 'text/xml' },
    };
  });
}

/** Scene strings and QR tickets shaped like real ones, for the baselines (which look at nothing). */
export function fakeScans(count: number): { sceneStr: string; qrTicket: string }[] {
  const hex = (n: number, i: number) => (i.toString(16).padStart(8, '0') + 'f'.repeat(n)).slice(0, n);
  return Array.from({ length: count }, (_, i) => ({
    sceneStr: `login_${hex(48, i)}`,
    qrTicket: Buffer.from(`http://weixin.qq.com/q/${hex(22, i)}${'x'.repeat(45)}`).toString('base64'),
  }));
}
