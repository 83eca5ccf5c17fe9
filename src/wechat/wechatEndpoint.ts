import coWechat from 'co-wechat';
import createHttpError, { isHttpError } from 'http-errors';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import type { Clock } from '../clock/Clock';
import type { Metrics, PushOutcome } from '../observability/Metrics';
import type { EventRouter } from './EventRouter';
import type { MessageCipher } from './MessageCipher';
import type { PushDedupeStore } from './PushDedupeStore';
import { pushDedupeKey } from './pushDedupeKey';
import { pushGuard, type MessageMode } from './pushGuard';
import type { PushNonceStore } from './PushNonceStore';
import { toPushMessage, type PushMessage } from './PushMessage';
import { text } from './Reply';
import type { ReplyTemplates } from './ReplyTemplates';
import { ReplyWriter } from './ReplyWriter';

/** Long enough to cover WeChat's retries (up to ~20 s apart in total), short enough to stay small. */
const DEDUPE_TTL_SECONDS = 300;

export interface WechatEndpointOptions {
  token: string;
  appId: string;
  ciphers: MessageCipher[];
  maxSkewSeconds: number;
  clock: Clock;
  messageMode: MessageMode;
  nonces: PushNonceStore;
  router: EventRouter;
  dedupe: PushDedupeStore;
  templates: ReplyTemplates;
  /** Past this the push is answered `success` and handling finishes in the background (WeChat waits 5 s). */
  replyDeadlineMs?: number;
  /** Counts each push by MsgType/Event and outcome, and each refused request. */
  metrics?: Metrics;
}

declare module 'koa' {
  interface DefaultState {
    pushDocument?: string;
    pushParsed?: boolean;
  }
}

/** `GET|POST /wechat`: the guard, then co-wechat for URL verification and parsing, then our reply. */
export function wechatEndpoint(options: WechatEndpointOptions): Middleware {
  const writer = new ReplyWriter(options.token);
  const deadlineMs = options.replyDeadlineMs ?? 4000;
  const nowSeconds = () => Math.floor(options.clock.now() / 1000);

  const apology = (message: PushMessage) =>
    writer.write(
      text(options.templates.render('service-unavailable')),
      message.fromUserName,
      message.toUserName,
      nowSeconds(),
    );

  async function handle(message: PushMessage, ctx: Context): Promise<string> {
    const logger = ctx.state.logger;
    const key = pushDedupeKey(message);
    const count = (outcome: PushOutcome) => options.metrics?.push(message.msgType, message.event, outcome);
    let claim;
    try {
      claim = await options.dedupe.claim(key, DEDUPE_TTL_SECONDS);
    } catch (error) {
      logger.error({ err: error }, 'push dedupe unavailable');
      count('unavailable');
      return apology(message);
    }
    if (!claim.first) {
      logger.info({ key }, 'retried push answered from the first delivery');
      count('retry');
      return claim.reply ?? 'success';
    }
    // Whichever settles first of the handling and the deadline decides the outcome counted.
    let outcome: PushOutcome = 'late';
    const work = options.router
      .route(message)
      .then(async (reply) => {
        const document = writer.write(reply, message.fromUserName, message.toUserName, nowSeconds());
        await options.dedupe.complete(key, document);
        outcome = 'handled';
        return document;
      })
      .catch(async (error: unknown) => {
        outcome = 'failed';
        logger.error({ err: error }, 'push handling failed');
        await options.dedupe.release(key).catch(() => undefined);
        return apology(message);
      });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => {
        logger.warn({ key }, 'push handling passed the reply deadline; answering success');
        resolve('success');
      }, deadlineMs);
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
      count(outcome);
    }
  }

  // The guard hands co-wechat verified plaintext, so it needs no AES key of its own. Debug mode only
  // drops co-wechat's own `!==` signature check on POST: the guard's constant-time check is the only one.
  const parse = coWechat({ token: options.token, appid: options.appId }, true).middleware(async (parsed, ctx) => {
    ctx.state.pushParsed = true;
    ctx.state.pushDocument = await handle(toPushMessage(parsed), ctx);
    // An empty answer makes co-wechat write nothing; the reply is written below (see ReplyWriter).
    return '';
  });

  const respond: Middleware = async (ctx, next) => {
    if (ctx.method === 'GET') {
      // URL verification: the guard checked the signature and the echostr; co-wechat would check it again with `===`.
      ctx.body = ctx.query.echostr;
      return;
    }
    try {
      await parse(ctx, next);
    } catch (error) {
      if (!ctx.state.pushParsed && !isHttpError(error))
        throw createHttpError(400, 'body is not XML', { code: 'invalid_xml' });
      throw error;
    }
    const document = ctx.state.pushDocument;
    if (document === undefined) return;
    const cipher = ctx.state.pushCipher;
    ctx.body = cipher ? writer.encrypt(document, cipher, nowSeconds()) : document;
    ctx.type = document === 'success' ? 'text/plain' : 'application/xml';
  };

  const endpoint = compose([pushGuard(options), respond]);
  return async (ctx, next) => {
    try {
      await endpoint(ctx, next);
    } catch (error) {
      // Refused before a reply was made: bad signature or timestamp, foreign AppID, not XML, too large…
      options.metrics?.push(undefined, undefined, isHttpError(error) && error.status < 500 ? 'refused' : 'failed');
      throw error;
    }
  };
}
