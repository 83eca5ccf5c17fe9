import assert from 'node:assert/strict';
import { describeRegion, inDifferentPlaces, placeOf, type IpRegion } from '../../src/region/IpRegion';
import { IpRegionLookup } from '../../src/region/IpRegionLookup';

// Long-standing carrier blocks and DNS servers, stable across the database's monthly updates.
const FUZHOU_TELECOM = '218.85.157.99';
const XIAMEN_TELECOM = '110.80.0.1';
const GUANGZHOU_TELECOM = '202.96.128.86';

describe('region/IpRegionLookup: the region of an IP address from the offline database', () => {
  const lookup = new IpRegionLookup();

  const located: [string, string, string, string][] = [
    ['IPv4 of 福州 (福建电信 DNS)', FUZHOU_TELECOM, '福建 福州', '电信DNS服务器'],
    ['IPv4 of 厦门', XIAMEN_TELECOM, '福建 厦门', '电信'],
    ['IPv4 of 广州 (广东电信 DNS)', GUANGZHOU_TELECOM, '广东 广州', '电信'],
    ['IPv4 of 上海, a municipality named once', '202.96.209.133', '上海', '电信'],
    ['IPv4 outside China', '8.8.8.8', '美国 加利福尼亚州 圣克拉拉', '谷歌公司DNS服务器'],
    ['IPv6 of 北京 (中国电信)', '240e:1::1', '北京', '中国电信'],
    ['IPv6 of 四川, known to the province only (中国联通)', '2408:8456::1', '四川', '中国联通'],
    ['IPv6 of 湖南 (中国移动)', '2409:8c54::1', '湖南', '中国移动'],
    [
      'an IPv4-mapped IPv6 address, as a dual-stack socket reports IPv4',
      `::ffff:${FUZHOU_TELECOM}`,
      '福建 福州',
      '电信DNS服务器',
    ],
  ];
  for (const [what, ip, place, carrier] of located) {
    it(`locates ${what}: ${ip} → ${place} ${carrier}`, () => {
      const region = lookup.regionOf(ip);
      assert.equal(region.kind, 'located');
      assert.equal(placeOf(region), place);
      assert.equal(describeRegion(region), `${place} ${carrier}`);
    });
  }

  const placeless: [string, string, IpRegion['kind'], string][] = [
    ['IPv4 loopback', '127.0.0.1', 'loopback', '本机地址'],
    ['IPv4 loopback as a dual-stack socket reports it', '::ffff:127.0.0.1', 'loopback', '本机地址'],
    ['IPv6 loopback (the database has its own version note there)', '::1', 'loopback', '本机地址'],
    ['a 10.x private address', '10.1.2.3', 'private', '局域网地址'],
    ['a 172.16–31.x private address', '172.20.0.5', 'private', '局域网地址'],
    ['a 192.168.x private address', '192.168.1.10', 'private', '局域网地址'],
    ['carrier-grade NAT space', '100.64.0.1', 'private', '局域网地址'],
    ['IPv4 link-local', '169.254.10.20', 'private', '局域网地址'],
    ['an IPv6 unique local address', 'fd12:3456::1', 'private', '局域网地址'],
    ['IPv6 link-local with a zone', 'fe80::1%eth0', 'private', '局域网地址'],
    ['IPv4 documentation space (TEST-NET-2)', '198.51.100.23', 'unknown', '未知地区'],
    ['IPv6 documentation space', '2001:db8::1', 'unknown', '未知地区'],
    ['the unspecified IPv4 address', '0.0.0.0', 'unknown', '未知地区'],
    ['the unspecified IPv6 address', '::', 'unknown', '未知地区'],
    ['multicast', '224.0.0.1', 'unknown', '未知地区'],
    ['an empty string', '', 'unknown', '未知地区'],
    ['garbage', 'not-an-ip', 'unknown', '未知地区'],
    ['dots only (passes the portal API pattern)', '....', 'unknown', '未知地区'],
    ['an IPv4 address with an octet over 255', '256.1.1.1', 'unknown', '未知地区'],
    ['a truncated IPv6 address', '240e:1:', 'unknown', '未知地区'],
  ];
  for (const [what, ip, kind, label] of placeless) {
    it(`shows ${what} as ${label}, never as a city: ${JSON.stringify(ip)}`, () => {
      const region = lookup.regionOf(ip);
      assert.equal(region.kind, kind);
      assert.equal(describeRegion(region), label);
    });
  }

  it('costs microseconds a lookup once the database is open (no network, no file read)', () => {
    lookup.regionOf(FUZHOU_TELECOM);
    const addresses = Array.from({ length: 256 }, (_, i) => [`117.25.${i}.1`, `240e:${i.toString(16)}::1`]).flat();
    const rounds = 20;
    // CPU time, not wall time: other processes on a busy machine must not count as the lookup's cost.
    const started = process.cpuUsage();
    for (let round = 0; round < rounds; round += 1) for (const ip of addresses) lookup.regionOf(ip);
    const spent = process.cpuUsage(started);
    const microsEach = (spent.user + spent.system) / (rounds * addresses.length);
    // About 3 µs each here; the bound leaves room for a slower machine.
    assert.ok(microsEach < 100, `${microsEach.toFixed(1)} µs a lookup`);
  });
});

describe('region/IpRegion: whether two regions are different places', () => {
  const lookup = new IpRegionLookup();
  const cases: [string, string, string, boolean][] = [
    ['another province', GUANGZHOU_TELECOM, FUZHOU_TELECOM, true],
    ['another city of the same province', XIAMEN_TELECOM, FUZHOU_TELECOM, true],
    ['the same city, other carriers and blocks', '36.248.0.1', FUZHOU_TELECOM, false],
    ['another country', '8.8.8.8', FUZHOU_TELECOM, true],
    ['a province known without its city (IPv6) against a city in it', '2409:8c54::1', '175.8.0.1', false],
    ['loopback against a city: nothing to compare', '127.0.0.1', FUZHOU_TELECOM, false],
    ['a private address against a city', '192.168.1.10', GUANGZHOU_TELECOM, false],
    ['unknown against a city', 'not-an-ip', GUANGZHOU_TELECOM, false],
  ];
  for (const [what, a, b, different] of cases) {
    it(`${different ? 'differ' : 'do not differ'}: ${what} (${a} / ${b})`, () => {
      assert.equal(inDifferentPlaces(lookup.regionOf(a), lookup.regionOf(b)), different);
    });
  }
});
