import type { Context } from 'koa';
import { PageRenderer } from '../http/PageRenderer';

/** Server-side rendering of the H5 pages from templates/h5 (auto-escaping on), with the session's CSRF token. */
export class H5Renderer extends PageRenderer {
  constructor(
    templatesDir: string,
    private readonly common: Record<string, unknown>,
  ) {
    super(templatesDir, 'h5');
  }

  render(ctx: Context, template: string, variables: Record<string, unknown> = {}, status = 200): void {
    this.respond(
      ctx,
      template,
      {
        ...this.common,
        csrfToken: ctx.state.session?.data?.csrfToken ?? '',
        ...variables,
      },
      status,
    );
  }
}
