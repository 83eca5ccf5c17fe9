import createHttpError from 'http-errors';
import type { Context, Middleware } from 'koa';
import type { CaptchaService } from '../captcha/CaptchaService';
import { sendCaptchaImage } from '../captcha/sendCaptchaImage';
import { sessionFingerprint } from './oauth/OAuthCallbackClaims';

/** The forms that ask for an image captcha; each keeps its own answer in the session's scope. */
export const CAPTCHA_PURPOSES = ['bind-login', 'bind-sms', 'register', 'register-sms', 'password-forgot'] as const;
export type CaptchaPurpose = (typeof CAPTCHA_PURPOSES)[number];

export function captchaScope(ctx: Context, purpose: CaptchaPurpose): string {
  return `${sessionFingerprint(ctx.state.session.id)}:${purpose}`;
}

/**
 * `GET /h5/captcha?for=<purpose>`: a new single-use image captcha for this session and form. In the
 * sandbox the answer also travels in `X-Sandbox-Captcha`, for tests and the phone simulator.
 */
export function captchaRoute(captcha: CaptchaService, sandbox: boolean): Middleware {
  return async (ctx) => {
    const purpose = ctx.query.for;
    if (typeof purpose !== 'string' || !(CAPTCHA_PURPOSES as readonly string[]).includes(purpose)) {
      throw createHttpError(400, '验证码请求无效。');
    }
    await sendCaptchaImage(ctx, captcha, captchaScope(ctx, purpose as CaptchaPurpose), sandbox);
  };
}
