import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';

/** Where the phone page's own CSS, JS and icons are served. */
export const PHONE_ASSETS = '/sandbox/phone/static';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** `/sandbox/phone/static/*`: the files of static/sandbox, read once at start and served from memory (no CDN). */
export function phoneStatic(projectRoot: string): Middleware {
  const dir = path.join(projectRoot, 'static', 'sandbox');
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) files.set(`${PHONE_ASSETS}/${name}`, { body: readFileSync(path.join(dir, name)), type });
  }
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.type = file.type;
    // The sandbox is edited while it runs; a reload must pick the new files up.
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = file.body;
  };
}
