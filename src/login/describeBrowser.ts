/** A short, human description of a user agent for the confirm page ("Windows 上的 Chrome 浏览器"). */
export function describeBrowser(userAgent: string): string {
  // WeChat's own browser first: its User-Agent also names the engine it is built on (Chrome, Safari).
  const browser = /MicroMessenger\//.test(userAgent)
    ? '微信'
    : /Edg\//.test(userAgent)
      ? 'Edge'
      : /(?:Chrome|CriOS)\//.test(userAgent)
        ? 'Chrome'
        : /(?:Firefox|FxiOS)\//.test(userAgent)
          ? 'Firefox'
          : /Safari\//.test(userAgent) && /Version\//.test(userAgent)
            ? 'Safari'
            : /MSIE |Trident\//.test(userAgent)
              ? 'Internet Explorer'
              : null;
  // iPhones and iPads say "like Mac OS X", Android phones "Linux": the phones are named first.
  const system = /Windows/.test(userAgent)
    ? 'Windows'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Mac OS X|Macintosh/.test(userAgent)
        ? 'macOS'
        : /Android/.test(userAgent)
          ? 'Android'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : null;
  if (!browser && !system) return '未知浏览器';
  return `${system ? `${system} 上的 ` : ''}${browser ?? '未知'} 浏览器`;
}
