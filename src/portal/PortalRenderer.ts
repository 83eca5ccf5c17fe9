import path from 'node:path';
import type { Context } from 'koa';
import nunjucks from 'nunjucks';

export const PORTAL_ASSETS = '/portal/static';

/**
 * Server-side rendering of the portal's pages from templates/portal (auto-escaping on), with a
 * Content-Security-Policy that allows no inline script or style: everything comes from
 * /portal/static, the QR image from WeChat's host, and the status poll goes to the API.
 */
export class PortalRenderer {
  private readonly env: nunjucks.Environment;

  constructor(templatesDir: string, private readonly options: { apiOrigin: string }) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(templatesDir, 'portal')), {
      autoescape: true,
      throwOnUndefined: false,
    });
  }

  render(ctx: Context, template: string, variables: Record<string, unknown> = {}, status = 200): void {
    const session = ctx.state.portalSession?.data ?? null;
    // A flash message is shown once, on the next page rendered.
    const flash = session?.flash ?? null;
    if (session?.flash) delete session.flash;
    const images = new Set(["'self'", 'data:']);
    if (session?.ticket) images.add(originOf(session.ticket.qrcodeUrl));
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src ${[...images].join(' ')}`,
      `connect-src 'self' ${this.options.apiOrigin}`,
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ].join('; '));
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.body = this.env.render(`${template}.njk`, {
      assets: PORTAL_ASSETS,
      csrfToken: session?.csrfToken ?? '',
      account: session?.account ?? null,
      flash,
      ...variables,
    });
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "'self'";
  }
}
