import { timingSafeEqual } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import createHttpError from 'http-errors';
import type { Middleware } from 'koa';
import type { OAuthCallbackClaims, CallbackOutcome } from './OAuthCallbackClaims';
import { sessionFingerprint } from './OAuthCallbackClaims';
import type { OAuthStateCookie } from './OAuthStateCookie';
import { WebOAuthError, type WebOAuth } from './WebOAuth';
import { maskOpenid } from '../../security/masking';

const startAgain = () =>
  createHttpError(400, '授权已失效，请从"福建税务"公众号菜单重新进入。', { title: '请重新进入' });
const REPEAT_WAIT_MS = 3000;
/**
 * WeChat errcodes that say "not now" rather than "bad code" (system busy, API quota or rate limit):
 * like an unreachable WeChat they end on the 503 "try later" page, not on "start again".
 */
const TRANSIENT_ERRCODES = new Set([-1, 45009, 45011]);

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
// Only our own pages: `returnTo` came from our session, but never follow it off-site.
const safeReturn = (path: string | undefined) =>
  path && /^\/h5\/[^/\\]/.test(path) && !path.startsWith('/h5/oauth/') ? path : '/h5/bind';

/**
 * `/h5/oauth/callback?code&state`: checks the state against the browser's OAuth state cookie,
 * exchanges the code once, puts the openid in a new session and returns to the page that asked. A
 * repeated callback with the same code (WeChat sometimes opens it twice; the second exchange would
 * get 40163) from the same browser follows the first one's outcome instead.
 */
export function oauthCallback(oauth: WebOAuth, claims: OAuthCallbackClaims, stateCookie: OAuthStateCookie): Middleware {
  return async (ctx) => {
    const { code, state } = ctx.query;
    if (
      typeof code !== 'string' ||
      !/^[A-Za-z0-9_-]{1,256}$/.test(code) ||
      typeof state !== 'string' ||
      !/^[A-Za-z0-9]{1,128}$/.test(state)
    ) {
      throw startAgain();
    }
    const session = ctx.state.session;
    const data = session.data;
    // The repeat arrived after the browser took the first one's cookie.
    if (data?.openid && data.oauthState && sameText(data.oauthState, state)) {
      ctx.redirect(safeReturn(data.returnTo));
      return;
    }

    const trip = stateCookie.read(ctx);
    const fromSession = sessionFingerprint(trip?.state ?? null);
    const claim = await claims.claim(code);
    if (!claim.first) {
      const outcome = claim.outcome ?? (await waitForOutcome(claims, code));
      if (!trip || !outcome || outcome.fromSession !== fromSession) throw startAgain();
      session.adopt(outcome.sessionId);
      ctx.redirect(safeReturn(outcome.returnTo));
      return;
    }

    if (!trip || !sameText(trip.state, state)) {
      await claims.release(code);
      ctx.state.logger.warn({ reason: trip ? 'state_mismatch' : 'no_state' }, 'oauth callback refused');
      throw startAgain();
    }
    let identity;
    try {
      identity = await oauth.exchange(code);
    } catch (error) {
      await claims.release(code);
      if (error instanceof WebOAuthError && (error.errcode === 'unavailable' || TRANSIENT_ERRCODES.has(error.errcode)))
        throw error;
      ctx.state.logger.warn({ errcode: (error as WebOAuthError).errcode }, 'oauth code refused');
      throw startAgain();
    }
    if (identity.snapshotUser) {
      await claims.release(code);
      ctx.state.logger.warn({ reason: 'snapshot_user' }, 'oauth callback refused');
      throw createHttpError(403, '请点击页面下方的"使用完整服务"后再办理。', { title: '请使用完整服务' });
    }
    // A new session (new id and CSRF token) for the user OAuth identified; any older one is gone.
    const returnTo = safeReturn(trip.returnTo);
    await session.destroy();
    Object.assign(session.ensure(), { openid: identity.openid, oauthState: state, returnTo });
    stateCookie.clear(ctx);
    // ASVS V16.3.1: the WeChat user is authenticated (snsapi_base); the openid is logged masked.
    ctx.state.logger.info({ openid: maskOpenid(identity.openid) }, 'oauth: wechat user identified');
    await claims.complete(code, { fromSession, sessionId: session.id!, returnTo });
    ctx.redirect(returnTo);
  };
}

async function waitForOutcome(claims: OAuthCallbackClaims, code: string): Promise<CallbackOutcome | null> {
  const until = Date.now() + REPEAT_WAIT_MS;
  while (Date.now() < until) {
    await delay(50);
    const outcome = await claims.outcome(code);
    if (outcome) return outcome;
  }
  return null;
}
