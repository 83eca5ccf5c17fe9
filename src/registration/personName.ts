/*
 * Real names (姓名) as the 2016 rules for resident ID registration have them: any character of the
 * GB 18030 repertoire that is a Chinese character, not only the 20 902 of `\u4e00-\u9fa5` (so the
 * CJK extensions, e.g. 𠈌 U+2020C, and the compatibility ideographs), letters of the scripts in which
 * China's ethnic minorities write their names, and the separator dot `·` (U+00B7) between the parts
 * of a transliterated name. Names may be long (50 characters and more, e.g. transliterated Tibetan
 * or Uyghur names); this service caps them at MAX_NAME_LENGTH.
 */

/** The longest name accepted, in characters (code points); the column holds 255. */
export const MAX_NAME_LENGTH = 100;
/** The shortest: a family name and a given name. */
export const MIN_NAME_LENGTH = 2;
/**
 * The longest input looked at, in UTF-16 units: the longest name written in surrogate pairs, with
 * room for the spaces people type around dots. Longer input is refused before any normalising, so
 * no request makes the checks below work on more than this.
 */
export const MAX_TYPED_NAME_LENGTH = 4 * MAX_NAME_LENGTH;

export const NAME_DOT = '\u00B7';

/**
 * Characters people type for the separator dot, all stored as U+00B7: • U+2022, ‧ U+2027,
 * ∙ U+2219, ⋅ U+22C5, ・ U+30FB, ． U+FF0E, ･ U+FF65, · U+0387, ᛫ U+16EB, ⸱ U+2E31, . U+002E,
 * ․ U+2024, ﹒ U+FE52.
 */
export const DOT_LOOK_ALIKES = [
  '\u2022',
  '\u2027',
  '\u2219',
  '\u22C5',
  '\u30FB',
  '\uFF0E',
  '\uFF65',
  '\u0387',
  '\u16EB',
  '\u2E31',
  '.',
  '\u2024',
  '\uFE52',
] as const;
const LOOK_ALIKE = new RegExp(
  `[${DOT_LOOK_ALIKES.map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join('')}]`,
  'gu',
);

/** Chinese characters: every unified ideograph (all extensions), the compatibility ideographs, and 〇. */
const HAN = /[\p{Unified_Ideograph}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}\u3007]/u;
/**
 * Letters of minority transliterations: Latin (Zhuang, pinyin), Tibetan (with the syllable mark
 * ་ U+0F0B/U+0F0C), Mongolian, Arabic (Uyghur, Kazakh, Kyrgyz), Yi, Hangul (Korean), Tai Le and
 * New Tai Lue (Dai), Lisu, Cyrillic (Russian); a combining mark may follow a letter.
 */
const LETTER = /\p{L}/u;
const MINORITY_SCRIPT =
  /[\p{Script=Latin}\p{Script=Tibetan}\p{Script=Mongolian}\p{Script=Arabic}\p{Script=Yi}\p{Script=Hangul}\p{Script=Tai_Le}\p{Script=New_Tai_Lue}\p{Script=Lisu}\p{Script=Cyrillic}]/u;
const TIBETAN_TSHEG = /[\u0F0B\u0F0C]/u;
const MARK = /\p{M}/u;
const DIGIT = /\p{N}/u;
const SPACE = /\s/u;
const VISIBLE = /[\p{L}\p{P}\p{S}]/u;

export type NameProblem =
  'empty' | 'too_short' | 'too_long' | 'digit' | 'character' | 'dot_at_end' | 'dot_doubled' | 'space_in_chinese_name';

export type NameCheck = { ok: true; name: string } | { ok: false; problem: NameProblem; message: string };

/**
 * The name as it is stored: surrounding spaces trimmed, every look-alike dot replaced by U+00B7,
 * spaces around a dot dropped and other runs of spaces folded to one. Nothing else changes (no
 * Unicode normalisation: NFC would replace compatibility ideographs by their unified twins, and the
 * name must stay the character the taxpayer's ID card has).
 */
export function normalizePersonName(input: string): string {
  return (
    input
      .replace(LOOK_ALIKE, NAME_DOT)
      // Trimming the parts between dots drops the spaces around each dot in linear time (a regex
      // like /\s*·\s*/ rescans a run of spaces from each of its positions: quadratic).
      .split(NAME_DOT)
      .map((part) => part.trim())
      .join(NAME_DOT)
      .replace(/\s+/gu, ' ')
  );
}

const isHan = (c: string) => HAN.test(c);
const isMinorityLetter = (c: string) => LETTER.test(c) && MINORITY_SCRIPT.test(c);

/** Normalises the name and checks it; the first problem is named with a message for the form. */
export function checkPersonName(input: string): NameCheck {
  const fail = (problem: NameProblem, message: string): NameCheck => ({ ok: false, problem, message });
  if (input.length > MAX_TYPED_NAME_LENGTH) return fail('too_long', `姓名不能超过${MAX_NAME_LENGTH}个字`);
  const name = normalizePersonName(input);
  const chars = Array.from(name);
  if (chars.length === 0) return fail('empty', '请输入姓名');
  if (chars.length > MAX_NAME_LENGTH) return fail('too_long', `姓名不能超过${MAX_NAME_LENGTH}个字`);
  // Whether the previous character was a minority-script letter or one of its marks, which a mark may follow.
  let inMinorityWord = false;
  for (const [i, c] of chars.entries()) {
    const minority: boolean = isMinorityLetter(c) || (inMinorityWord && (MARK.test(c) || TIBETAN_TSHEG.test(c)));
    inMinorityWord = minority;
    // Before the digit check: 〇 is a number to Unicode (Nl) and a character of names.
    if (minority || isHan(c) || c === NAME_DOT) continue;
    if (DIGIT.test(c)) return fail('digit', '姓名不能包含数字');
    if (c === ' ') {
      // A space may separate the words of a name written in letters, never Chinese characters.
      if (isHan(chars[i - 1]!) || isHan(chars[i + 1]!)) return fail('space_in_chinese_name', '汉字姓名中不能有空格');
      continue;
    }
    return fail(
      'character',
      VISIBLE.test(c) && !SPACE.test(c)
        ? `姓名不能包含“${c}”，只能填写汉字、少数民族文字和间隔号“·”`
        : '姓名只能填写汉字、少数民族文字和间隔号“·”',
    );
  }
  if (chars[0] === NAME_DOT || chars.at(-1) === NAME_DOT) return fail('dot_at_end', '间隔号“·”不能在姓名的开头或结尾');
  if (name.includes(NAME_DOT + NAME_DOT)) return fail('dot_doubled', '间隔号“·”不能连续使用');
  if (chars.length < MIN_NAME_LENGTH) return fail('too_short', `姓名至少${MIN_NAME_LENGTH}个字`);
  return { ok: true, name };
}
