import type { Context } from 'koa';
import type { LoginFacts, LoginNoticeSender } from './LoginNoticeSender';

/**
 * A login's notices, sent once its answer has gone out (or the client has left): sending never
 * delays or fails the login. Nothing when notices are off.
 */
export function noticeAfterAnswer(ctx: Context, notices: LoginNoticeSender | null, login: LoginFacts): void {
  if (!notices) return;
  // 'close' follows the end of the answer, and also a connection lost before it.
  const answered = new Promise<void>((resolve) => ctx.res.once('close', () => resolve()));
  notices.notify(login, answered);
}
