import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/**
 * `/h5/static/*`: WeUI's stylesheet (from the weui package, served locally — no CDN) and our own
 * few assets, read once at start and served from memory.
 */
export function staticAssets(root: string): Middleware {
  const files = new Map<string, { body: Buffer; type: string }>();
  const add = (name: string, file: string) => files.set(name, { body: readFileSync(file), type: TYPES[path.extname(file)]! });
  add('weui.min.css', require.resolve('weui/dist/style/weui.min.css'));
  add('app.css', path.join(root, 'static', 'h5', 'app.css'));
  add('app.js', path.join(root, 'static', 'h5', 'app.js'));
  return async (ctx, next) => {
    const file = files.get(ctx.path.replace(/^\/h5\/static\//, ''));
    if (!file) return next();
    ctx.type = file.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = file.body;
  };
}
