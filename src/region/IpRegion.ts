/**
 * Where an IP address is, as far as an offline database can tell. Addresses that have no place —
 * this machine, a private network — say so instead of borrowing one.
 */
export type IpRegion =
  | {
      kind: 'located';
      /** ISO 3166-1 alpha-2 (`CN`). */
      countryCode: string;
      country: string;
      /** 省 / 自治区 / 直辖市 for China (`福建`); empty when the database knows only the country. */
      province: string;
      /** 市 (`福州`); often empty for IPv6, whose blocks are mostly known to the province only. */
      city: string;
      /** 运营商 (`电信`), or empty. */
      carrier: string;
    }
  | { kind: 'loopback' }
  | { kind: 'private' }
  | { kind: 'unknown' };

/** The place, without the carrier: `福建 福州`, `北京`, `美国 加利福尼亚州`; `本机地址`, `局域网地址`, `未知地区`. */
export function placeOf(region: IpRegion): string {
  switch (region.kind) {
    case 'loopback':
      return '本机地址';
    case 'private':
      return '局域网地址';
    case 'unknown':
      return '未知地区';
    case 'located': {
      const parts = [region.countryCode === 'CN' ? '' : region.country, region.province, region.city];
      // 北京 北京, 上海 上海: a municipality is its own province.
      return parts.filter((part, index) => part && parts.indexOf(part) === index).join(' ') || region.country;
    }
  }
}

/** The place and, when known, the carrier: `福建 福州 电信`. */
export function describeRegion(region: IpRegion): string {
  const place = placeOf(region);
  return region.kind === 'located' && region.carrier ? `${place} ${region.carrier}` : place;
}

/**
 * True when both addresses are located and lie in another country, another province, or (when the
 * database knows both cities) another city. Addresses without a place cannot be compared: false.
 */
export function inDifferentPlaces(a: IpRegion, b: IpRegion): boolean {
  if (a.kind !== 'located' || b.kind !== 'located') return false;
  if (a.countryCode !== b.countryCode) return true;
  if (a.province && b.province && a.province !== b.province) return true;
  return Boolean(a.city && b.city && a.city !== b.city);
}
