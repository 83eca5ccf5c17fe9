import type { ParameterizedContext } from 'koa';
import { PageRenderer } from '../http/PageRenderer';
import { strictPageHeaders } from '../http/strictPageHeaders';

export const OIDC_ASSETS = '/oidc/static';

/** Koa's context as both this app and oidc-provider's own app hand it over. */
type AnyContext = ParameterizedContext<unknown, unknown, unknown>;

/**
 * The provider's pages (templates/oidc, in the portal's style, for desktop and phone), with a
 * Content-Security-Policy that allows no inline script or style and no framing. Forms post to this
 * origin; a form whose answer redirects to a site (the login, the logout) also allows that site's
 * origin, which browsers check on the redirect.
 */
export class OidcRenderer extends PageRenderer {
  constructor(templatesDir: string) {
    super(templatesDir, 'oidc');
  }

  render(
    ctx: AnyContext,
    template: string,
    variables: Record<string, unknown>,
    page: { status?: number; images?: string[]; formTargets?: string[] } = {},
  ): void {
    const headers = strictPageHeaders({
      img: ["'self'", 'data:', ...(page.images ?? [])].join(' '),
      connect: "'self'",
      formTargets: page.formTargets ?? [],
    });
    this.respond(ctx as never, template, { assets: OIDC_ASSETS, ...variables }, page.status ?? 200, headers);
  }

  renderMessage(ctx: AnyContext, message: { title: string; lines: string[]; status: number }): void {
    this.render(ctx, 'message', { title: message.title, lines: message.lines }, { status: message.status });
  }

  /** RP-initiated logout's question; `form` is oidc-provider's hidden form (its xsrf token included). */
  renderLogout(ctx: AnyContext, page: { form: string; clientName: string | null; formTargets: string[] }): void {
    this.render(
      ctx,
      'logout',
      { title: '退出登录', clientName: page.clientName, form: page.form },
      { formTargets: page.formTargets },
    );
  }
}
