import type { Context } from 'koa';
import { PageRenderer } from '../../http/PageRenderer';
import { strictPageHeaders } from '../../http/strictPageHeaders';

/** Where the phone page's own CSS, JS and icons are served. */
export const PHONE_ASSETS = '/sandbox/phone/static';

/**
 * Renders templates/sandbox (auto-escaping on) with a Content-Security-Policy that allows no inline
 * script or style. Frames may show any http(s) page: links in replies are the account's to choose,
 * and the in-app browser must open them like WeChat's does.
 */
export class PhonePageRenderer extends PageRenderer {
  constructor(templatesDir: string) {
    super(templatesDir, 'sandbox');
  }

  render(ctx: Context, template: string, variables: Record<string, unknown>): void {
    this.respond(
      ctx,
      template,
      { assets: PHONE_ASSETS, ...variables },
      200,
      strictPageHeaders({ img: "'self' data:", connect: "'self'", frame: "'self' http: https:" }),
    );
  }
}
