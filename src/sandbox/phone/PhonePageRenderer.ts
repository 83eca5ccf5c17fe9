import path from 'node:path';
import type { Context } from 'koa';
import nunjucks from 'nunjucks';

/** Where the phone page's own CSS, JS and icons are served. */
export const PHONE_ASSETS = '/sandbox/phone/static';

/**
 * Renders templates/sandbox (auto-escaping on) with a Content-Security-Policy that allows no inline
 * script or style. Frames may show any http(s) page: links in replies are the account's to choose,
 * and the in-app browser must open them like WeChat's does.
 */
export class PhonePageRenderer {
  private readonly env: nunjucks.Environment;

  constructor(templatesDir: string) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(templatesDir, 'sandbox')), {
      autoescape: true,
      throwOnUndefined: false,
    });
  }

  render(ctx: Context, template: string, variables: Record<string, unknown>): void {
    ctx.status = 200;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "frame-src 'self' http: https:",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ].join('; '));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.body = this.env.render(`${template}.njk`, { assets: PHONE_ASSETS, ...variables });
  }
}
