import { WeChatApiError, asRecord, commonErrors } from './WeChatApiError';

/** What a custom menu looks like once /cgi-bin/menu/create accepted it. */
export interface CustomMenu {
  button: Record<string, unknown>[];
}

const MAX_BUTTONS = 3;
const MAX_SUB_BUTTONS = 5;
const MAX_KEY_BYTES = 128;
const MAX_URL_BYTES = 1024;

const TYPES_NEEDING_KEY = new Set([
  'click',
  'scancode_push',
  'scancode_waitmsg',
  'pic_sysphoto',
  'pic_photo_or_album',
  'pic_weixin',
  'location_select',
]);
const TYPES_NEEDING_URL = new Set(['view', 'miniprogram']);
const TYPES_NEEDING_MEDIA_ID = new Set(['media_id', 'view_limited']);
const TYPES_NEEDING_ARTICLE_ID = new Set(['article_id', 'article_view_limited']);

/** Limits differ between the menu bar and the pop-up sub-menus, and so do the error codes. */
interface Level {
  maxNameBytes: number;
  nameError: () => WeChatApiError;
  urlError: () => WeChatApiError;
}

const TOP: Level = {
  maxNameBytes: 16,
  nameError: () => new WeChatApiError(40018, 'invalid button name size'),
  urlError: () => new WeChatApiError(40021, 'invalid button url size'),
};
const SUB: Level = {
  maxNameBytes: 60,
  nameError: () => new WeChatApiError(40025, 'invalid sub button name size'),
  urlError: () => new WeChatApiError(40027, 'invalid sub button url size'),
};

const invalidButtonSize = (): WeChatApiError => new WeChatApiError(40016, 'invalid button size');
const invalidSubButtonSize = (): WeChatApiError => new WeChatApiError(40023, 'invalid sub button size');
const invalidType = (): WeChatApiError => new WeChatApiError(40017, 'invalid button type');
const invalidKeySize = (): WeChatApiError => new WeChatApiError(40019, 'invalid button key size');
const invalidMediaId = (): WeChatApiError => new WeChatApiError(40007, 'invalid media_id');

/** Checks a /cgi-bin/menu/create body button by button, in order, failing on the first problem. */
export function validateMenu(body: unknown): CustomMenu {
  const menu = asRecord(body);
  if (!menu) throw commonErrors.dataFormat();
  const buttons = menu.button;
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > MAX_BUTTONS) throw invalidButtonSize();
  return { button: buttons.map((button) => validateTopButton(button)) };
}

/** menu/get lists every leaf with an empty `sub_button` array, as WeChat's answer does. */
export function menuForGet(menu: CustomMenu): CustomMenu {
  return {
    button: menu.button.map((button) =>
      Array.isArray(button.sub_button)
        ? { ...button, sub_button: button.sub_button.map((sub: unknown) => ({ ...asRecord(sub), sub_button: [] })) }
        : { ...button, sub_button: [] },
    ),
  };
}

function validateTopButton(value: unknown): Record<string, unknown> {
  const button = asRecord(value);
  if (!button) throw commonErrors.dataFormat();
  checkName(button.name, TOP);
  if (button.sub_button === undefined) return validateLeaf(button, TOP);
  // A parent only opens its sub-menu: it cannot also act as a button.
  if (button.type !== undefined) throw invalidType();
  const subs = button.sub_button;
  if (!Array.isArray(subs) || subs.length < 1 || subs.length > MAX_SUB_BUTTONS) throw invalidSubButtonSize();
  const validated = subs.map((sub: unknown) => {
    const subButton = asRecord(sub);
    if (!subButton) throw commonErrors.dataFormat();
    checkName(subButton.name, SUB);
    // Menus have two levels only.
    if (subButton.sub_button !== undefined) throw invalidType();
    return validateLeaf(subButton, SUB);
  });
  return { ...button, sub_button: validated };
}

function validateLeaf(button: Record<string, unknown>, level: Level): Record<string, unknown> {
  const type = button.type;
  const known =
    typeof type === 'string' &&
    (TYPES_NEEDING_KEY.has(type) ||
      TYPES_NEEDING_URL.has(type) ||
      TYPES_NEEDING_MEDIA_ID.has(type) ||
      TYPES_NEEDING_ARTICLE_ID.has(type));
  if (!known) throw invalidType();
  if (button.key !== undefined || TYPES_NEEDING_KEY.has(type)) checkText(button.key, MAX_KEY_BYTES, invalidKeySize);
  if (button.url !== undefined || TYPES_NEEDING_URL.has(type)) checkText(button.url, MAX_URL_BYTES, level.urlError);
  if (type === 'miniprogram' && (!isNonEmptyString(button.appid) || !isNonEmptyString(button.pagepath)))
    throw invalidType();
  if (TYPES_NEEDING_MEDIA_ID.has(type) && !isNonEmptyString(button.media_id)) throw invalidMediaId();
  if (TYPES_NEEDING_ARTICLE_ID.has(type) && !isNonEmptyString(button.article_id)) throw invalidMediaId();
  return { ...button };
}

function checkName(name: unknown, level: Level): void {
  checkText(name, level.maxNameBytes, level.nameError);
}

/** WeChat counts UTF-8 bytes (a Chinese character is 3), and an empty value is as bad as a long one. */
function checkText(value: unknown, maxBytes: number, error: () => WeChatApiError): void {
  if (!isNonEmptyString(value) || Buffer.byteLength(value, 'utf8') > maxBytes) throw error();
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
