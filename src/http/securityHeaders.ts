import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';
import type { Middleware } from 'koa';

/** The pages the sandbox phone shows inside its frame (same origin): the H5 pages and the simulator's OAuth pages. */
const FRAMED = /^\/(?:h5|sandbox\/wechat)(?:\/|$)/;
/** Answers for machines (JSON, XML, plain text): nothing in them is ever rendered as a page. */
const MACHINE = /^\/(?:api\/|wechat$|healthz$|readyz$|metrics$)/;

type Directives = Record<string, string[]>;

/**
 * Security headers on EVERY answer, errors and 404s included (helmet's, set before anything else
 * runs; see docs/security.md, ASVS V3.4):
 *
 * - Content-Security-Policy: pages use only same-origin scripts, styles and images (the captcha is an
 *   `<svg>` from /h5/captcha, WeUI comes from /h5/static; WeUI's icons are `data:` SVGs), no inline
 *   script or event-handler attribute, `object-src 'none'`, `base-uri 'none'`, forms post to this
 *   origin only. `frame-ancestors 'none'` everywhere except the H5 pages and the simulator's OAuth
 *   pages, which the sandbox phone frames (`'self'`). Machine answers get `default-src 'none'` and
 *   `sandbox`, and `Cache-Control: no-store` unless the route says otherwise. The reference portal and the sandbox phone set a stricter policy of their own on
 *   their pages (it replaces this one: they set it later in the same response).
 * - Referrer-Policy `same-origin`: no URL (the confirm link's token, the OAuth code) leaves the
 *   origin in a Referer. Not `no-referrer`: with it browsers send `Origin: null` on same-origin form
 *   posts, which the CSRF check (rightly) refuses.
 * - X-Frame-Options DENY / SAMEORIGIN (for old browsers, matching frame-ancestors), nosniff,
 *   Cross-Origin-Opener/Resource-Policy same-origin, and helmet's other defaults.
 * - Strict-Transport-Security (1 year, subdomains) and `upgrade-insecure-requests` only when
 *   PUBLIC_URL is https: on plain HTTP (development, tests) they would only break the site.
 */
export function securityHeaders(options: { publicUrl: string }): Middleware {
  const https = options.publicUrl.startsWith('https://');
  const page = (frameAncestors: string): Directives => ({
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': [frameAncestors],
    'base-uri': ["'none'"],
    'object-src': ["'none'"],
    ...(https ? { 'upgrade-insecure-requests': [] } : {}),
  });
  const machine: Directives = {
    'default-src': ["'none'"],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
    'object-src': ["'none'"],
    'form-action': ["'none'"],
    sandbox: [],
  };
  const build = (directives: Directives, framed: boolean) =>
    headersOf({
      contentSecurityPolicy: { useDefaults: false, directives },
      referrerPolicy: { policy: 'same-origin' },
      xFrameOptions: { action: framed ? 'sameorigin' : 'deny' },
      strictTransportSecurity: https ? { maxAge: 365 * 24 * 3600, includeSubDomains: true } : false,
    });
  const framedPages = build(page("'self'"), true);
  const otherPages = build(page("'none'"), false);
  // API answers carry accounts and login states: no cache keeps them (a route may say otherwise).
  const machines = { ...build(machine, false), 'cache-control': 'no-store' };

  return (ctx, next) => {
    ctx.set(FRAMED.test(ctx.path) ? framedPages : MACHINE.test(ctx.path) ? machines : otherPages);
    return next();
  };
}

/**
 * The headers helmet sets for `options`, computed once at start-up: they depend on the options
 * only (no nonce, no function directive), so no request needs to run helmet again.
 */
function headersOf(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    // Lower-case names: Node keys stored headers by the lower-cased name, and lower-casing a name
    // that already is returns it without a copy (no new string per header per request).
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: () => undefined,
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  return headers;
}
