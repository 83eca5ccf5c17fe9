import assert from 'node:assert/strict';
import { maskIdNumber, maskLoginName, maskName, maskOpenid, maskPhone } from '../../src/security/masking';

describe('security/masking', () => {
  const table: [string, (value: string) => string, string, string][] = [
    ['ID number: first 3 and last 4', maskIdNumber, '350102199003071234', '350***********1234'],
    ['ID number ending in X', maskIdNumber, '35010219900307123X', '350***********123X'],
    ['phone: first 3 and last 4', maskPhone, '13812345678', '138****5678'],
    ['openid: first 6, ****, last 4', maskOpenid, 'oAbCdE1234567890123456789wxyz', 'oAbCdE****wxyz'],
    ['two-character name', maskName, '张三', '张*'],
    ['three-character name', maskName, '王小明', '王**'],
    ['compound surname', maskName, '欧阳锋', '欧**'],
    ['minority name with ·', maskName, '阿依古丽·买买提', '阿*******'],
    ['name with a character outside the BMP', maskName, '𠮷野家', '𠮷**'],
    ['one-character name', maskName, '张', '*'],
    ['login name that is an ID number', maskLoginName, '350102199003071234', '350***********1234'],
    ['login name that is an ID number with lower-case x', maskLoginName, '35010219900307123x', '350***********123x'],
    ['login name that is a mobile number', maskLoginName, '13812345678', '138****5678'],
    ['ordinary login name', maskLoginName, 'zhangsan', 'zhangsan'],
    ['digits that are no mobile number', maskLoginName, '12812345678', '12812345678'],
    ['malformed short ID number', maskIdNumber, '3501', '****'],
    ['malformed short phone', maskPhone, '1381234', '*******'],
    ['malformed short openid', maskOpenid, 'oAbCd', '*****'],
  ];

  for (const [what, mask, value, expected] of table) {
    it(`masks ${what}: ${value} → ${expected}`, () => {
      assert.equal(mask(value), expected);
    });
  }
});
