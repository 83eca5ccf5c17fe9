import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  isAllowedLoginName,
  looksLikeIdNumber,
  looksLikeMobileNumber,
  normalizeIdNumber,
} from '../../src/accounts/personalNumbers';
import { describeBrowser } from '../../src/login/describeBrowser';
import { checkIdNumber } from '../../src/registration/gb11643';
import { checkMobileNumber } from '../../src/registration/mobileNumber';
import { checkNewPassword } from '../../src/registration/passwordPolicy';
import { checkPersonName, MAX_NAME_LENGTH, normalizePersonName } from '../../src/registration/personName';
import { validateRegistration } from '../../src/registration/registrationForm';
import { maskIdNumber, maskLoginName, maskName, maskPhone } from '../../src/security/masking';

const SIZE = 64 * 1024;
/**
 * Each call on 64 KiB may take this long at most. Linear work on 64 KiB takes well under a
 * millisecond; the quadratic regex this replaced took seconds on it (0.16 s on 16 KiB).
 */
const BOUND_MS = 50;

/** `unit` repeated to SIZE characters (UTF-16 units), between `before` and `after`. */
const run = (unit: string, before = '', after = '') =>
  before + unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE) + after;

/**
 * What makes backtracking regexes slow: long runs of what a `\s*`, `\d`, `[...]` or `.*` would
 * match, followed by what makes the match fail, around and between every character the validators
 * treat specially (dots and their look-alikes, +86, hyphens, X, surrogate pairs, combining marks).
 */
const ADVERSARIAL: [string, string][] = [
  ['spaces', run(' ')],
  ['spaces between letters', run(' ', 'a', 'b')],
  ['spaces between Chinese characters', run(' ', '张', '三')],
  ['spaces then a dot at the end', run(' ', '阿', '·')],
  ['mixed whitespace between letters', run(' \t\u3000\u00A0\n', 'a', 'b')],
  ['dots', run('\u00B7')],
  ['space-dot pairs', run(' \u00B7')],
  ['look-alike dots with spaces', run('. \u2022 \u30FB ')],
  ['digits', run('1')],
  ['digits then a letter', run('1', '', 'x')],
  ['+86 then digits', run('1', '+86')],
  ['repeated 0086', run('0086')],
  ['hyphens and spaces', run('- ', '138')],
  ['Chinese characters', run('张')],
  ['supplementary ideographs', run('\u{2020C}')],
  ['letters with combining marks', run('a\u0301')],
  ['Tibetan syllables', run('\u0F40\u0F0B')],
  ['password classes', run('Aa1!')],
  ['ID-number-like', run('35010219900101123', '', 'Y')],
];

function timed(name: string, call: (input: string) => unknown): void {
  it(`V1.3.12: ${name} stays linear on 64 KiB of adversarial input`, () => {
    const slowest: [string, number][] = [];
    for (const [what, input] of ADVERSARIAL) {
      // The best of three: a garbage collection or a busy neighbour can stretch one call, not all.
      let ms = Infinity;
      for (let attempt = 0; attempt < 3 && ms > BOUND_MS; attempt++) {
        const started = performance.now();
        call(input);
        ms = Math.min(ms, performance.now() - started);
      }
      if (ms > BOUND_MS) slowest.push([what, Math.round(ms)]);
    }
    assert.deepEqual(slowest, [], `over ${BOUND_MS} ms: ${JSON.stringify(slowest)}`);
  });
}

describe('registration: every validator costs bounded time, whatever it is given (ASVS V1.3.12, V2.2.1)', () => {
  const today = '20261129';
  timed('normalizePersonName', normalizePersonName);
  timed('checkPersonName', checkPersonName);
  timed('checkIdNumber', (input) => checkIdNumber(input, today));
  timed('checkMobileNumber', checkMobileNumber);
  timed('checkNewPassword', (input) =>
    checkNewPassword(input, { phone: '13812345678', idNumber: '350102199001011234' }),
  );
  timed('validateRegistration (every field the same input)', (input) =>
    validateRegistration(
      { realName: input, idNumber: input, phone: input, smsCode: input, password: input, confirmPassword: input },
      today,
    ),
  );
  timed('looksLikeIdNumber, looksLikeMobileNumber, normalizeIdNumber, isAllowedLoginName', (input) => [
    looksLikeIdNumber(input),
    looksLikeMobileNumber(input),
    normalizeIdNumber(input),
    isAllowedLoginName(input),
  ]);
  timed('the masking helpers', (input) => [
    maskIdNumber(input),
    maskPhone(input),
    maskName(input),
    maskLoginName(input),
  ]);
  timed('describeBrowser (the User-Agent)', describeBrowser);

  it('V2.2.1: checks lengths before normalising: an over-long name is refused as too long, whatever it would shrink to', () => {
    const padded = `张${' '.repeat(SIZE)}·${' '.repeat(SIZE)}三`;
    const check = checkPersonName(padded);
    assert.equal(check.ok, false);
    assert.equal(!check.ok && check.problem, 'too_long');
    assert.equal(!check.ok && check.message, `姓名不能超过${MAX_NAME_LENGTH}个字`);
    // What people type stays accepted: spaces around the dot, surrounding spaces.
    assert.deepEqual(checkPersonName('  阿依古丽 · 买买提  '), { ok: true, name: '阿依古丽·买买提' });
    const id = checkIdNumber(run(' ', '', '35010219900101123X'), today);
    assert.equal(!id.ok && id.problem, 'length');
    assert.equal(checkMobileNumber(run(' ', '', '13812345678')).ok, false);
    assert.equal(checkMobileNumber(' +86 138-1234-5678 ').ok, true);
    const password = checkNewPassword(run(' ', 'Aa1!'), { phone: '', idNumber: '' });
    assert.equal(!password.ok && password.problem, 'too_long');
  });
});
