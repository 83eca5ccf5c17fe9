import type { ErrorObject, ValidateFunction } from 'ajv';
import { ERRCODE_MEANINGS } from '../wechat/api/WeChatApiError';
import { childPath, pointerToPath, type Menu, type MenuProblem } from './Menu';
import { compileMenuSchema, type Utf8BytesParams } from './menuSchema';

/** What the validator needs of the reply templates: whether `click/<KEY>` exists. */
export interface ClickReplies {
  has(name: string): boolean;
}

/** The click keys the /wechat endpoint can look up (src/wechat/EventRouter.ts). */
const ANSWERABLE_KEY = /^[A-Za-z0-9_-]+$/;

const BUTTON_FIELDS = 'name, type, key, url, media_id, appid, pagepath, article_id, sub_button';

/**
 * Checks a menu (with `${PUBLIC_URL}` already filled in) against WeChat's rules in
 * menus/menu.schema.json, then against this server: every `click` key needs a reply template,
 * or the click would be answered with the general help text. One problem per finding, each
 * naming its JSON path.
 */
export class MenuValidator {
  private readonly validateSchema: ValidateFunction;
  private readonly replies: ClickReplies;

  constructor(options: { schemaFile: string; replies: ClickReplies }) {
    this.validateSchema = compileMenuSchema(options.schemaFile);
    this.replies = options.replies;
  }

  /** Problems found (with `earlier` ones, e.g. from filling placeholders, merged in); none means publishable. */
  validate(menu: unknown, earlier: MenuProblem[] = []): MenuProblem[] {
    const problems: MenuProblem[] = [...earlier];
    if (!this.validateSchema(menu)) {
      for (const error of this.validateSchema.errors ?? []) {
        const problem = describe(error, menu);
        if (problem) problems.push(problem);
      }
    }
    problems.push(...this.checkClickReplies(menu));
    return sortAndDedupe(problems);
  }

  private checkClickReplies(menu: unknown): MenuProblem[] {
    const problems: MenuProblem[] = [];
    for (const { button, path } of buttonsOf(menu)) {
      if (button.type !== 'click' || typeof button.key !== 'string' || button.key === '') continue;
      if (Buffer.byteLength(button.key, 'utf8') > 128) continue; // already reported by the schema
      const keyPath = childPath(path, 'key');
      if (!ANSWERABLE_KEY.test(button.key)) {
        problems.push({
          path: keyPath,
          message: `"${button.key}": this server answers click keys of letters, digits, _ and - only`,
        });
      } else if (!this.replies.has(`click/${button.key}`)) {
        problems.push({
          path: keyPath,
          message: `no reply for click ${button.key}: add templates/replies/click/${button.key}.txt`,
        });
      }
    }
    return problems;
  }
}

/** Every object-shaped button, top level and sub-menus, with its display path (the menu may be invalid). */
export function buttonsOf(menu: unknown): { button: Record<string, unknown>; path: string }[] {
  const found: { button: Record<string, unknown>; path: string }[] = [];
  const top = isObject(menu) ? menu.button : undefined;
  if (!Array.isArray(top)) return found;
  top.forEach((button: unknown, i) => {
    if (!isObject(button)) return;
    const path = childPath('button', i);
    found.push({ button, path });
    if (!Array.isArray(button.sub_button)) return;
    button.sub_button.forEach((sub: unknown, j) => {
      if (isObject(sub)) found.push({ button: sub, path: childPath(childPath(path, 'sub_button'), j) });
    });
  });
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `(WeChat: 40018 invalid menu button name size)`: what WeChat itself would answer. */
function wechat(errcode: number): string {
  return `(WeChat: ${errcode} ${ERRCODE_MEANINGS[errcode] ?? 'error'})`;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  }
  return node;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Turns one ajv error into a sentence an admin can act on; null for errors that only echo others. */
function describe(error: ErrorObject, menu: unknown): MenuProblem | null {
  const at = pointerToPath(error.instancePath);
  const segments = error.instancePath.split('/');
  const inSubMenu = segments.length >= 5 && segments[3] === 'sub_button';
  const last = segments.at(-1) ?? '';
  const data = valueAt(menu, error.instancePath);
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'if':
      return null; // ajv's "must match then": the failing rule inside is reported on its own
    case 'minItems':
    case 'maxItems': {
      const count = Array.isArray(data) ? data.length : 0;
      const limit = Number(params.limit);
      const bound = error.keyword === 'minItems' ? `at least ${limit}` : `at most ${limit}`;
      return last === 'sub_button'
        ? { path: at, message: `${plural(count, 'sub-button')}, ${bound} ${wechat(40023)}` }
        : { path: at, message: `${plural(count, 'top-level button')}, ${bound} ${wechat(40016)}` };
    }
    case 'maxUtf8Bytes': {
      const { limit, bytes } = params as unknown as Utf8BytesParams;
      if (last === 'name') {
        const errcode = inSubMenu ? 40025 : 40018;
        return {
          path: at,
          message: `${bytes} bytes, at most ${limit} (UTF-8; a Chinese character is 3 bytes): "${String(data)}" ${wechat(errcode)}`,
        };
      }
      const errcode = last === 'key' ? 40019 : inSubMenu ? 40027 : 40021;
      return { path: at, message: `${bytes} bytes, at most ${limit} ${wechat(errcode)}` };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const path = childPath(at, missing);
      const type = isObject(data) && typeof data.type === 'string' ? data.type : undefined;
      if (missing === 'button') return { path, message: 'missing: a menu is {"button": [...]} with 1 to 3 buttons' };
      if (missing === 'name') return { path, message: 'missing: every button needs a name' };
      if (missing === 'type') {
        // A sub-button with its own sub_button is reported as such; its missing type would only repeat it.
        if (inSubMenu) {
          if (isObject(data) && 'sub_button' in data) return null;
          return { path, message: 'missing: a sub-button needs a type (click, view, ...)' };
        }
        return { path, message: 'missing: a top-level button needs a type (click, view, ...) or a sub_button list' };
      }
      const why =
        missing === 'url' && type === 'miniprogram' ? ' (the page shown by clients without mini programs)' : '';
      return { path, message: `missing: ${type ? `a ${type}` : 'this'} button needs ${missing}${why}` };
    }
    case 'enum':
      return last === 'type'
        ? {
            path: at,
            message: `unknown type ${JSON.stringify(data)}; WeChat knows ${(params.allowedValues as string[]).join(', ')} ${wechat(40017)}`,
          }
        : { path: at, message: error.message ?? 'not an allowed value' };
    case 'false schema':
      return last === 'sub_button'
        ? { path: at, message: 'menus have two levels: a sub-button cannot have a sub_button of its own' }
        : {
            path: at,
            message: `not allowed on a button with sub_button: it only opens its sub-menu, so it has no type, key, url or other action ${wechat(40017)}`,
          };
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      return error.instancePath === ''
        ? {
            path: extra,
            message: 'unknown field: the menu has "button" only (conditional menus are published with another API)',
          }
        : { path: childPath(at, extra), message: `unknown field: a button has ${BUTTON_FIELDS}` };
    }
    case 'type':
      return {
        path: at || '(menu)',
        message: `must be ${params.type === 'array' || params.type === 'object' ? 'an' : 'a'} ${String(params.type)}`,
      };
    case 'minLength':
      return { path: at, message: 'must not be empty' };
    case 'pattern':
      return { path: at, message: `${JSON.stringify(data)} is not an http:// or https:// URL without spaces` };
    default:
      return { path: at || '(menu)', message: error.message ?? `breaks the rule ${error.keyword}` };
  }
}

/** Problems in menu order, button by button; the problems of one button stay in the order found. */
function sortAndDedupe(problems: MenuProblem[]): MenuProblem[] {
  const seen = new Set<string>();
  return problems
    .filter((problem) => {
      const line = `${problem.path}: ${problem.message}`;
      if (seen.has(line)) return false;
      seen.add(line);
      return true;
    })
    .map((problem, index) => ({ problem, index, key: buttonKey(problem.path) }))
    .sort((a, b) => compareKeys(a.key, b.key) || a.index - b.index)
    .map(({ problem }) => problem);
}

/** `button[0].sub_button[2].name` → ['button', 0, 'sub_button', 2]: the button a problem belongs to. */
function buttonKey(path: string): (string | number)[] {
  const tokens = path
    .split(/[.[\]]+/)
    .filter(Boolean)
    .map((token) => (/^\d+$/.test(token) ? Number(token) : token));
  if (tokens.length >= 2 && typeof tokens.at(-1) === 'string') tokens.pop();
  return tokens;
}

function compareKeys(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** Counts for messages: "3 buttons, 10 sub-buttons". */
export function menuSize(menu: Menu): string {
  const subs = menu.button.reduce((sum, button) => sum + (button.sub_button?.length ?? 0), 0);
  return `${plural(menu.button.length, 'button')}, ${plural(subs, 'sub-button')}`;
}
