/**
 * The headers of a page that sets a stricter policy than securityHeaders' (the reference portal, the
 * sandbox phone): a Content-Security-Policy that allows no inline script or style, only this
 * origin's scripts, styles and forms, no framing, no base or object; the use says where images,
 * fetches and (optionally) frames may come from, and which other origins a form's answer may redirect to. It replaces the general policy: set later in the
 * same response.
 */
export function strictPageHeaders(sources: {
  img: string;
  connect: string;
  frame?: string;
  formTargets?: string[];
}): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src ${sources.img}`,
      `connect-src ${sources.connect}`,
      ...(sources.frame ? [`frame-src ${sources.frame}`] : []),
      ["form-action 'self'", ...(sources.formTargets ?? [])].join(' '),
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  };
}
