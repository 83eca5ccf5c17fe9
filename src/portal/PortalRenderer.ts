import type { Context } from 'koa';
import { PageRenderer } from '../http/PageRenderer';
import { strictPageHeaders } from '../http/strictPageHeaders';

export const PORTAL_ASSETS = '/portal/static';

/**
 * Server-side rendering of the portal's pages from templates/portal (auto-escaping on), with a
 * Content-Security-Policy that allows no inline script or style: everything comes from
 * /portal/static, the QR image from WeChat's host, and the status poll goes to the API.
 */
export class PortalRenderer extends PageRenderer {
  constructor(
    templatesDir: string,
    private readonly options: { apiOrigin: string },
  ) {
    super(templatesDir, 'portal');
  }

  render(ctx: Context, template: string, variables: Record<string, unknown> = {}, status = 200): void {
    const session = ctx.state.portalSession?.data ?? null;
    // A flash message is shown once, on the next page rendered.
    const flash = session?.flash ?? null;
    if (session?.flash) delete session.flash;
    const images = new Set(["'self'", 'data:']);
    if (session?.ticket) images.add(originOf(session.ticket.qrcodeUrl));
    this.respond(
      ctx,
      template,
      {
        assets: PORTAL_ASSETS,
        csrfToken: session?.csrfToken ?? '',
        account: session?.account ?? null,
        flash,
        ...variables,
      },
      status,
      strictPageHeaders({ img: [...images].join(' '), connect: `'self' ${this.options.apiOrigin}` }),
    );
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "'self'";
  }
}
