import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface StaticFilesOptions {
  /** The URL folder the files are served under, e.g. `/h5/static`. */
  urlPrefix: string;
  /** Every file of this folder with a known type. */
  directory: string;
  /** Files from elsewhere (a package's stylesheet), by the name they are served under. */
  extra?: Record<string, string>;
  cacheControl: string;
}

/** A page's own assets, read once at start and served from memory: no CDN, no disk reads per request. */
export function staticFiles(options: StaticFilesOptions): Middleware {
  const files = new Map<string, { body: Buffer; type: string }>();
  const add = (name: string, file: string) => {
    const type = TYPES[path.extname(file)];
    if (type) files.set(`${options.urlPrefix}/${name}`, { body: readFileSync(file), type });
  };
  for (const name of readdirSync(options.directory)) add(name, path.join(options.directory, name));
  for (const [name, file] of Object.entries(options.extra ?? {})) add(name, file);
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? files.get(ctx.path) : undefined;
    if (!file) {
      await next();
      return;
    }
    ctx.type = file.type;
    ctx.set('Cache-Control', options.cacheControl);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = file.body;
  };
}
