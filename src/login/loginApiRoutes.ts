import type { ServerResponse } from 'node:http';
import Router from '@koa/router';
import type { JSONSchemaType } from 'ajv';
import createHttpError from 'http-errors';
import type { Middleware } from 'koa';
import { clientContext } from '../http/clientContext';
import { errorAnswer } from '../http/errorHandler';
import { jsonBody } from '../http/jsonBody';
import { REPORTED_CLIENT_PROPERTIES, reportedClient, type ReportedClient } from '../http/reportedClient';
import { validateBody } from '../http/validateBody';
import type { LoginNoticeSender } from '../loginsafety/LoginNoticeSender';
import { noticeAfterAnswer } from '../loginsafety/noticeAfterAnswer';
import { portalNameOf } from '../loginsafety/portalName';
import { requirePortalKey } from '../security/requirePortalKey';
import { WeChatApiError, WeChatUnavailableError } from '../wechat/api/WeChatApiError';
import { TICKET_STATUSES, type TicketStatus } from './LoginTicket';
import type { LoginService } from './LoginService';
import type { LongPollGate } from './LongPollGate';

const MAX_WAIT_SECONDS = 30;
/** WeChat's "api freq out of limit": the day's qrcode/create calls are used up. */
const QRCODE_QUOTA_ERRCODE = 45009;

const createTicketSchema: JSONSchemaType<ReportedClient> = {
  type: 'object',
  properties: REPORTED_CLIENT_PROPERTIES,
  additionalProperties: false,
};

const notFound = () => createHttpError(404, 'no such login ticket', { code: 'ticket_not_found' });
const notFoundBody = { error: { code: 'ticket_not_found', message: 'no such login ticket' } };

/** Writes a held poll's answer as JSON (the headers set before it was held stay); nothing if the client left. */
function answerLater(
  res: ServerResponse,
  answer: { status: number; headers: Record<string, string>; body: unknown },
): void {
  if (res.destroyed || res.writableEnded) return;
  const json = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** CORS for the portal's pages, which poll straight from the browser (ticketId is their secret). */
function portalCors(origins: string[]): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    ctx.vary('Origin');
    if (origin && origins.includes(origin)) {
      ctx.set('Access-Control-Allow-Origin', origin);
      if (ctx.method === 'OPTIONS') {
        ctx.set('Access-Control-Allow-Methods', 'GET');
        ctx.set('Access-Control-Max-Age', '600');
        ctx.status = 204;
        return;
      }
    }
    await next();
  };
}

/**
 * The portal's side of 微信扫码登录: create a ticket (QR), poll it (long-poll, CORS),
 * redeem it once.
 */
export function loginApiRoutes(
  login: LoginService,
  portal: { apiKeys: string[]; origins: string[] },
  notices: LoginNoticeSender | null,
  polls: LongPollGate,
): Router {
  const router = new Router({ prefix: '/api/login/tickets' });
  const readCreate = validateBody(createTicketSchema);
  const key = requirePortalKey(portal.apiKeys);
  const cors = portalCors(portal.origins);

  router.post('/', key, jsonBody(), async (ctx) => {
    const body = ctx.request.length ? readCreate(ctx) : {};
    try {
      // The confirm page names the PC's browser only as the portal reports it, never the portal's own.
      ctx.body = await login.createTicket({ clientIp: reportedClient(ctx, body).ip, userAgent: body.userAgent ?? '' });
    } catch (error) {
      // Reached only when the QR pool had no idle scene and WeChat refused a new QR code.
      if (error instanceof WeChatApiError && error.errcode === QRCODE_QUOTA_ERRCODE && error.api === 'qrcode/create') {
        ctx.state.logger.error({ err: error }, 'QR code not created: daily qrcode/create quota used up');
        throw createHttpError(503, "WeChat's daily QR code quota is used up; use the password login", {
          code: 'wechat_qrcode_quota',
          expose: true,
        });
      }
      if (error instanceof WeChatApiError || error instanceof WeChatUnavailableError) {
        ctx.state.logger.error({ err: error }, 'QR code not created');
        throw createHttpError(503, 'WeChat could not create the QR code; try again shortly', {
          code: 'wechat_unavailable',
          expose: true,
        });
      }
      throw error;
    }
    ctx.status = 201;
  });

  router.options('/:ticketId', cors);
  router.get('/:ticketId', cors, async (ctx) => {
    const { wait, status } = ctx.query;
    let waitSeconds = 0;
    if (wait !== undefined) {
      if (typeof wait !== 'string' || !/^\d{1,2}$/.test(wait) || Number(wait) > MAX_WAIT_SECONDS) {
        throw createHttpError(400, `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`, {
          code: 'invalid_request',
        });
      }
      waitSeconds = Number(wait);
    }
    if (
      status !== undefined &&
      (typeof status !== 'string' || !(TICKET_STATUSES as readonly string[]).includes(status))
    ) {
      throw createHttpError(400, `status must be one of ${TICKET_STATUSES.join(', ')}`, { code: 'invalid_request' });
    }
    const ticketId = ctx.params.ticketId!;
    ctx.set('Cache-Control', 'no-store');
    // Past the per-ticket or per-IP limit of held polls, a poll is answered at once, as without `wait`.
    const slot = waitSeconds > 0 ? polls.admit(ticketId, ctx.ip) : null;
    if (slot) {
      // Held outside the middleware chain: the route returns now and answers when the ticket changes
      // or the wait ends, so a held poll keeps no suspended middleware (10,000 may be held at once).
      ctx.respond = false;
      const logger = ctx.state.logger;
      // A client that leaves frees its waiter and its slot at once, not when the wait would end.
      const left = new AbortController();
      ctx.res.once('close', () => left.abort());
      void login
        .waitForChange(ticketId, status as TicketStatus | undefined, waitSeconds * 1000, left.signal)
        .then(
          (view) =>
            answerLater(
              ctx.res,
              view ? { status: 200, headers: {}, body: view } : { status: 404, headers: {}, body: notFoundBody },
            ),
          (error: unknown) => answerLater(ctx.res, errorAnswer(error, logger)),
        )
        .finally(() => slot.release());
      return;
    }
    const view = await login.view(ticketId);
    if (!view) throw notFound();
    ctx.body = view;
  });

  router.post('/:ticketId/redeem', key, async (ctx) => {
    const portalName = portalNameOf(ctx);
    const result = await login.redeem(ctx.params.ticketId!, clientContext(ctx), portalName);
    if (result.ok) {
      ctx.body = { account: result.account, openid: result.openid };
      noticeAfterAnswer(ctx, notices, {
        accountId: result.account.id,
        method: 'qr',
        portal: portalName,
        at: result.redeemedAt,
        computerIp: result.computer.ip,
        browser: result.computer.browser,
      });
      return;
    }
    if (result.reason === 'unknown') throw notFound();
    if (result.reason === 'already_redeemed')
      throw createHttpError(409, 'this login was already redeemed', { code: 'ticket_already_redeemed' });
    throw createHttpError(
      409,
      result.reason === 'expired' ? 'the ticket expired before it was confirmed' : 'the ticket is not confirmed',
      { code: 'ticket_not_confirmed' },
    );
  });

  return router;
}
