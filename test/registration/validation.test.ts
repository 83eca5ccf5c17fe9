import assert from 'node:assert/strict';
import { chinaDate, checkIdNumber, PROVINCE_CODES, type IdNumberProblem } from '../../src/registration/gb11643';
import { checkMobileNumber } from '../../src/registration/mobileNumber';
import { checkNewPassword, type PasswordProblem } from '../../src/registration/passwordPolicy';
import {
  checkPersonName,
  MAX_NAME_LENGTH,
  normalizePersonName,
  type NameProblem,
} from '../../src/registration/personName';
import { validateRegistration } from '../../src/registration/registrationForm';
import { gb11643CheckCharacter } from '../support/accountFixtures';

/** 17 digits completed with their check character, computed by the fixtures' own implementation. */
const valid = (first17: string) => first17 + gb11643CheckCharacter(first17);
/** The same with a wrong check character. */
const badCheck = (first17: string) => first17 + (gb11643CheckCharacter(first17) === '0' ? '1' : '0');

// 2026-11-29 10:00 in China.
const TODAY = chinaDate(Date.UTC(2026, 10, 29, 2, 0, 0));

describe('registration: ID numbers per GB 11643-1999', () => {
  it('takes the calendar day in China (UTC+8) as today', () => {
    assert.equal(TODAY, '20261129');
    assert.equal(chinaDate(Date.UTC(2026, 10, 29, 15, 59, 59)), '20261129');
    assert.equal(chinaDate(Date.UTC(2026, 10, 29, 16, 0, 0)), '20261130');
  });

  const accepted: [string, string, string][] = [
    ["the standard's example with check character X", '11010519491231002X', '11010519491231002X'],
    ['a digit check character', '350102199901010011', '350102199901010011'],
    ['an X check character', '35010219990101002X', '35010219990101002X'],
    ['a lower-case x, stored upper-case', '11010519491231002x', '11010519491231002X'],
    ['surrounding spaces', `  ${valid('35010219900101001')} `, valid('35010219900101001')],
    ['29 February of a leap year (2024)', valid('35010220240229123'), valid('35010220240229123')],
    ['29 February 2000 (divisible by 400: leap)', valid('35010220000229123'), valid('35010220000229123')],
    ['born today', valid('35010220261129001'), valid('35010220261129001')],
    ['福建 35', valid('35020319851231005'), valid('35020319851231005')],
    ['香港 81', valid('81000019900101001'), valid('81000019900101001')],
    ['澳门 82', valid('82000019900101001'), valid('82000019900101001')],
    ['台湾 83 (居住证)', valid('83000019900101001'), valid('83000019900101001')],
    ['台湾 71', valid('71000019900101001'), valid('71000019900101001')],
  ];
  for (const [what, input, stored] of accepted) {
    it(`accepts ${what}`, () => {
      const result = checkIdNumber(input, TODAY);
      assert.ok(result.ok, `${input}: ${JSON.stringify(result)}`);
      assert.equal(result.idNumber, stored);
    });
  }

  it('accepts exactly the province codes 11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81, 82, 83', () => {
    const expected = [
      '11',
      '12',
      '13',
      '14',
      '15',
      '21',
      '22',
      '23',
      '31',
      '32',
      '33',
      '34',
      '35',
      '36',
      '37',
      '41',
      '42',
      '43',
      '44',
      '45',
      '46',
      '50',
      '51',
      '52',
      '53',
      '54',
      '61',
      '62',
      '63',
      '64',
      '65',
      '71',
      '81',
      '82',
      '83',
    ];
    assert.deepEqual([...PROVINCE_CODES].sort(), expected);
    for (let code = 0; code < 100; code++) {
      const province = String(code).padStart(2, '0');
      const result = checkIdNumber(valid(`${province}010219900101001`), TODAY);
      assert.equal(result.ok, expected.includes(province), province);
    }
  });

  const refused: [string, string, IdNumberProblem, RegExp][] = [
    ['nothing', '   ', 'empty', /请输入身份证号码/],
    ['17 characters', '35010219900101001', 'length', /应为18位/],
    ['19 characters', `${valid('35010219900101001')}1`, 'length', /应为18位/],
    ['15 digits (the old first-generation number)', '350102900101001', 'length', /应为18位/],
    ['a letter among the first 17', '3501021990010100A1', 'characters', /前17位应为数字/],
    ['a check character other than a digit or X', '35010219900101001Y', 'characters', /最后一位为数字或X/],
    ['full-width digits', '３５０１０２１９９００１０１００１５', 'characters', /前17位应为数字/],
    ['province 00', valid('00010219900101001'), 'province', /省份代码/],
    ['province 16', valid('16010219900101001'), 'province', /省份代码/],
    ['province 39', valid('39010219900101001'), 'province', /省份代码/],
    ['province 72', valid('72010219900101001'), 'province', /省份代码/],
    ['province 84', valid('84010219900101001'), 'province', /省份代码/],
    ['province 91', valid('91010219900101001'), 'province', /省份代码/],
    ['29 February of a common year (2023)', valid('35010220230229123'), 'birth_date', /不是有效日期/],
    [
      '29 February 2100 is in the future anyway, 1900 was not a leap year',
      valid('35010219000229123'),
      'birth_date',
      /不是有效日期/,
    ],
    ['month 13', valid('35010219901301001'), 'birth_date', /不是有效日期/],
    ['month 00', valid('35010219900001001'), 'birth_date', /不是有效日期/],
    ['day 00', valid('35010219900100001'), 'birth_date', /不是有效日期/],
    ['31 April', valid('35010219900431001'), 'birth_date', /不是有效日期/],
    ['a birth date tomorrow', valid('35010220261130001'), 'birth_date_future', /晚于今天/],
    ['a birth date in 2030', valid('35010220300101001'), 'birth_date_future', /晚于今天/],
    ['a birth year before 1900', valid('35010218991231001'), 'birth_date_too_early', /早于1900年/],
    [
      "the standard's example born in 1880 (nobody alive was)",
      '440524188001010014',
      'birth_date_too_early',
      /早于1900年/,
    ],
    ['a wrong check digit', badCheck('35010219900101001'), 'checksum', /校验位不正确/],
    ['X where a digit belongs', '35010219990101001X', 'checksum', /校验位不正确/],
    ['a digit where X belongs', '110105194912310021', 'checksum', /校验位不正确/],
    ['two digits swapped', '110105194912310202X'.slice(0, 18), 'checksum', /校验位不正确/],
  ];
  for (const [what, input, problem, message] of refused) {
    it(`refuses ${what}`, () => {
      const result = checkIdNumber(input, TODAY);
      assert.equal(result.ok, false, input);
      if (result.ok) return;
      assert.equal(result.problem, problem, input);
      assert.match(result.message, message);
    });
  }

  it('uses the clock it is given: a birth date of today is refused the day before', () => {
    const born = valid('35010220261129001');
    assert.equal(checkIdNumber(born, '20261129').ok, true);
    assert.equal(checkIdNumber(born, '20261128').ok, false);
  });
});

describe('registration: names per the 2016 rules', () => {
  const accepted: [string, string, string][] = [
    ['a common name', '张三', '张三'],
    ['a compound surname', '欧阳娜娜', '欧阳娜娜'],
    ['a CJK Extension B character (𠈌, U+2020C)', '王𠈌', '王𠈌'],
    ['a CJK Extension A character (㐱)', '李㐱', '李㐱'],
    ['Extension G (𰻞)', '𰻞𰻞面', '𰻞𰻞面'],
    ['a character outside \\u4e00-\\u9fa5 of the basic block (鿏)', '赵鿏', '赵鿏'],
    ['a compatibility ideograph, kept as typed (U+FA11 﨑)', '山﨑', '山﨑'],
    ['〇', '李〇', '李〇'],
    ['a minority name with ·', '阿依古丽·买买提', '阿依古丽·买买提'],
    ['• U+2022 normalised', '阿依古丽•买买提', '阿依古丽·买买提'],
    ['‧ U+2027 normalised', '阿依古丽‧买买提', '阿依古丽·买买提'],
    ['∙ U+2219 normalised', '阿依古丽∙买买提', '阿依古丽·买买提'],
    ['⋅ U+22C5 normalised', '阿依古丽⋅买买提', '阿依古丽·买买提'],
    ['・ U+30FB normalised', '阿依古丽・买买提', '阿依古丽·买买提'],
    ['． U+FF0E normalised', '阿依古丽．买买提', '阿依古丽·买买提'],
    ['･ U+FF65 normalised', '阿依古丽･买买提', '阿依古丽·买买提'],
    ['· U+0387 normalised', '阿依古丽\u0387买买提', '阿依古丽·买买提'],
    ['᛫ U+16EB normalised', '阿依古丽᛫买买提', '阿依古丽·买买提'],
    ['⸱ U+2E31 normalised', '阿依古丽⸱买买提', '阿依古丽·买买提'],
    ['. normalised', '阿依古丽.买买提', '阿依古丽·买买提'],
    ['spaces around a dot dropped', '阿依古丽 · 买买提', '阿依古丽·买买提'],
    ['surrounding spaces, full-width too', '\u3000 张三 ', '张三'],
    ['several dots', '爱新觉罗·溥仪·某·某', '爱新觉罗·溥仪·某·某'],
    ['a Latin (Zhuang) name with a space', 'Veiz  Cinz', 'Veiz Cinz'],
    ['a Uyghur name in Arabic script', 'ئايگۈل', 'ئايگۈل'],
    ['a Tibetan name with its syllable marks', 'བཀྲ་ཤིས་', 'བཀྲ་ཤིས་'],
    ['a Mongolian name', 'ᠪᠠᠲᠦ', 'ᠪᠠᠲᠦ'],
    ['a Korean name in Hangul', '김철수', '김철수'],
    ['a Yi name', 'ꀉꂿ', 'ꀉꂿ'],
    ['a Latin name with a diacritic', 'Ayxəm Tursun', 'Ayxəm Tursun'],
  ];
  for (const [what, input, stored] of accepted) {
    it(`accepts ${what}`, () => {
      const result = checkPersonName(input);
      assert.ok(result.ok, `${input}: ${JSON.stringify(result)}`);
      assert.equal(result.name, stored);
    });
  }

  it(`accepts 50 characters and more, up to ${MAX_NAME_LENGTH}, counting characters not UTF-16 units`, () => {
    const fifty = `${'阿'.repeat(24)}·${'买'.repeat(25)}`;
    assert.equal(Array.from(fifty).length, 50);
    assert.ok(checkPersonName(fifty).ok);
    const longest = '𠈌'.repeat(MAX_NAME_LENGTH);
    assert.equal(longest.length, 2 * MAX_NAME_LENGTH);
    assert.ok(checkPersonName(longest).ok);
    const over = checkPersonName('张'.repeat(MAX_NAME_LENGTH + 1));
    assert.ok(!over.ok && over.problem === 'too_long' && /不能超过100个字/.test(over.message));
  });

  const refused: [string, string, NameProblem, RegExp][] = [
    ['nothing', '  ', 'empty', /请输入姓名/],
    ['one character', '张', 'too_short', /至少2个字/],
    ['an ASCII digit', '张三1', 'digit', /不能包含数字/],
    ['a full-width digit', '张三１', 'digit', /不能包含数字/],
    ['a Chinese numeral character is a character, but ① is a digit', '张①', 'digit', /不能包含数字/],
    ['@', '张@三', 'character', /不能包含“@”/],
    ['a comma', '张，三', 'character', /不能包含“，”/],
    ['an emoji', '张三😀', 'character', /不能包含“😀”/],
    ['a hyphen', '张-三', 'character', /不能包含“-”/],
    ['a Kangxi radical look-alike (⼀ U+2F00)', '张⼀', 'character', /只能填写汉字/],
    ['a control character', '张\u0007三', 'character', /只能填写汉字、少数民族文字和间隔号/],
    ['a dot at the start', '·买买提', 'dot_at_end', /不能在姓名的开头或结尾/],
    ['a look-alike dot at the end', '阿依古丽•', 'dot_at_end', /不能在姓名的开头或结尾/],
    ['a doubled dot', '阿依古丽··买买提', 'dot_doubled', /不能连续使用/],
    ['two look-alike dots that become a doubled one', '阿依古丽.•买买提', 'dot_doubled', /不能连续使用/],
    ['dots separated by a space', '阿依古丽· ·买买提', 'dot_doubled', /不能连续使用/],
    ['a space between Chinese characters', '张 三', 'space_in_chinese_name', /不能有空格/],
  ];
  for (const [what, input, problem, message] of refused) {
    it(`refuses ${what}`, () => {
      const result = checkPersonName(input);
      assert.equal(result.ok, false, input);
      if (result.ok) return;
      assert.equal(result.problem, problem, input);
      assert.match(result.message, message);
    });
  }

  it('normalises only dots and spaces (no NFC: compatibility ideographs stay)', () => {
    assert.equal(normalizePersonName('\uF900'), '\uF900');
    assert.notEqual('\uF900'.normalize('NFC'), '\uF900');
  });
});

describe('registration: mobile numbers', () => {
  const accepted: [string, string][] = [
    ['13800138000', '13800138000'],
    ['19912345678', '19912345678'],
    ['16612345678', '16612345678'],
    [' 138 0013 8000 ', '13800138000'],
    ['138-0013-8000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['+86 138 0013 8000', '13800138000'],
    ['008613800138000', '13800138000'],
  ];
  for (const [input, stored] of accepted) {
    it(`accepts ${JSON.stringify(input)}`, () =>
      assert.deepEqual(checkMobileNumber(input), { ok: true, phone: stored }));
  }
  const refused: [string, RegExp][] = [
    ['', /请输入手机号码/],
    ['1380013800', /正确的11位手机号码/],
    ['138001380001', /正确的11位手机号码/],
    ['12800138000', /正确的11位手机号码/],
    ['10086000000', /正确的11位手机号码/],
    ['23800138000', /正确的11位手机号码/],
    ['0591-87654321', /正确的11位手机号码/],
    ['1380013800a', /正确的11位手机号码/],
    ['１３８００１３８０００', /正确的11位手机号码/],
    ['+85261234567', /正确的11位手机号码/],
  ];
  for (const [input, message] of refused) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const result = checkMobileNumber(input);
      assert.ok(!result.ok);
      assert.match(result.message, message);
    });
  }
});

describe('registration: password policy', () => {
  const personal = { phone: '13800138000', idNumber: '11010519491231002X' };
  for (const password of ['Abcdef12', 'abcdef1!', 'ABCDEF1!', 'Abcdefg!', 'Fj-tax-2025!', 'x'.repeat(60) + 'A1!z']) {
    it(`accepts ${password.length > 20 ? `${password.length} characters` : password}`, () =>
      assert.deepEqual(checkNewPassword(password, personal), { ok: true }));
  }
  const refused: [string, string, PasswordProblem][] = [
    ['empty', '', 'empty'],
    ['7 characters', 'Abcde1!', 'too_short'],
    ['65 characters', `${'A'.repeat(32)}${'a'.repeat(31)}1!`, 'too_long'],
    ['letters only (2 classes)', 'Abcdefgh', 'classes'],
    ['lower-case and digits (2 classes)', 'abcdef12', 'classes'],
    ['digits and symbols (2 classes)', '1234!@#$', 'classes'],
    ['a space', 'Abc def1!', 'characters'],
    ['a Chinese character', 'Abcdef1密', 'characters'],
    ['the phone number', 'Ab!13800138000', 'contains_phone'],
    ['the ID number', 'Ab!11010519491231002X', 'contains_id_number'],
    ['the ID number with a lower-case x', 'Ab!11010519491231002x', 'contains_id_number'],
  ];
  for (const [what, password, problem] of refused) {
    it(`refuses ${what}`, () => {
      const result = checkNewPassword(password, personal);
      assert.ok(!result.ok);
      assert.equal(result.problem, problem);
    });
  }
});

describe('registration: the whole form', () => {
  const form = {
    realName: '林小税',
    idNumber: '11010519491231002x',
    phone: '13800138000',
    smsCode: '123456',
    password: 'Fj-tax-2025!',
    confirmPassword: 'Fj-tax-2025!',
  };

  it('normalises a valid form', () => {
    const result = validateRegistration(form, TODAY);
    assert.ok(result.ok);
    assert.deepEqual(result.registration, {
      realName: '林小税',
      idNumber: '11010519491231002X',
      phone: '13800138000',
      smsCode: '123456',
      password: 'Fj-tax-2025!',
    });
  });

  it('names every refused field at once and never hands the passwords back', () => {
    const result = validateRegistration(
      { realName: '林1', idNumber: '123', phone: '123', smsCode: '12', password: 'short', confirmPassword: 'other' },
      TODAY,
    );
    assert.ok(!result.ok);
    assert.deepEqual(
      Object.keys(result.errors).sort(),
      ['idNumber', 'password', 'phone', 'realName', 'smsCode', 'confirmPassword'].sort(),
    );
    assert.ok(!('password' in result.values));
    assert.ok(!JSON.stringify(result.values).includes('short'));
  });

  it('asks for 确认密码 and refuses one that differs', () => {
    const missing = validateRegistration({ ...form, confirmPassword: '' }, TODAY);
    assert.ok(!missing.ok && missing.errors.confirmPassword === '请再次输入登录密码');
    const different = validateRegistration({ ...form, confirmPassword: 'Fj-tax-2025?' }, TODAY);
    assert.ok(!different.ok && different.errors.confirmPassword === '两次输入的登录密码不一致');
  });
});
