import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

describe('wechat: library gaps closed around co-wechat', () => {
  it('co-wechat resolves xml2js 0.6 or later (CVE-2023-0842 fixed in 0.5), through npm overrides', () => {
    const coWechatDir = path.dirname(require.resolve('co-wechat/package.json'));
    const xml2jsPackage = require.resolve('xml2js/package.json', { paths: [coWechatDir] });
    const { version } = JSON.parse(readFileSync(xml2jsPackage, 'utf8')) as { version: string };
    const [major, minor] = version.split('.').map(Number);
    assert.ok(major! > 0 || minor! >= 6, `co-wechat uses xml2js ${version}`);
  });
});
