import path from 'node:path';
import type { Context } from 'koa';
import nunjucks from 'nunjucks';

/** Server-side rendering of the H5 pages from templates/h5, with auto-escaping on. */
export class H5Renderer {
  private readonly env: nunjucks.Environment;

  constructor(templatesDir: string, private readonly common: Record<string, unknown>) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(templatesDir, 'h5')), {
      autoescape: true,
      throwOnUndefined: false,
    });
  }

  render(ctx: Context, template: string, variables: Record<string, unknown> = {}, status = 200): void {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = this.env.render(`${template}.njk`, {
      ...this.common,
      csrfToken: ctx.state.session?.data?.csrfToken ?? '',
      ...variables,
    });
  }
}
