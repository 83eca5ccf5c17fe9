import type { Context } from 'koa';
import type { CaptchaService } from './CaptchaService';

/**
 * Answers with a new single-use image captcha for `scope`. In the sandbox the answer also travels in
 * `X-Sandbox-Captcha`, for tests and the phone simulator.
 */
export async function sendCaptchaImage(
  ctx: Context,
  captcha: CaptchaService,
  scope: string,
  sandbox: boolean,
): Promise<void> {
  const { svg, answer } = await captcha.issue(scope);
  ctx.set('Cache-Control', 'no-store');
  if (sandbox) ctx.set('X-Sandbox-Captcha', answer);
  ctx.type = 'image/svg+xml';
  ctx.body = svg;
}
