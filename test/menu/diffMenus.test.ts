import assert from 'node:assert/strict';
import { diffMenus, formatDifference, normalizeLiveMenu } from '../../src/menu/diffMenus';
import type { Menu } from '../../src/menu/Menu';

const FILE: Menu = {
  button: [
    {
      name: '微办税',
      sub_button: [
        { type: 'view', name: '实名绑定', url: 'https://wx.test/h5/bind' },
        { type: 'view', name: '实名注册', url: 'https://wx.test/h5/register' },
        { type: 'click', name: '微信扫码登录', key: 'LOGIN_HELP' },
      ],
    },
    { type: 'click', name: '常见问题', key: 'FAQ' },
  ],
};

/** What menu/get answers for FILE: a menuid, and every leaf with an empty sub_button. */
function asWeChatAnswers(menu: Menu): unknown {
  return {
    button: menu.button.map((b) =>
      b.sub_button
        ? { ...b, sub_button: b.sub_button.map((s) => ({ ...s, sub_button: [] })) }
        : { ...b, sub_button: [] },
    ),
    menuid: 208379533,
  };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const lines = (file: Menu, live: Menu | null): string[] => diffMenus(file, live).map(formatDifference);

describe('menu/diffMenus', () => {
  it('reads menu/get in the shape of the file', () => {
    assert.deepEqual(normalizeLiveMenu(asWeChatAnswers(FILE)), FILE);
  });

  it('finds nothing when the live menu is the file', () => {
    assert.deepEqual(diffMenus(FILE, normalizeLiveMenu(asWeChatAnswers(FILE))), []);
  });

  it('shows everything as added when no menu is published', () => {
    assert.deepEqual(lines(FILE, null), [
      '+ button[0] "微办税": added (sub-menu of 3)',
      '+ button[0].sub_button[0] "实名绑定": added (view https://wx.test/h5/bind)',
      '+ button[0].sub_button[1] "实名注册": added (view https://wx.test/h5/register)',
      '+ button[0].sub_button[2] "微信扫码登录": added (click LOGIN_HELP)',
      '+ button[1] "常见问题": added (click FAQ)',
    ]);
  });

  it('shows a changed field with its old and new value', () => {
    const live = clone(FILE);
    live.button[0]!.sub_button![0]!.url = 'https://old.test/h5/bind';
    assert.deepEqual(lines(FILE, live), [
      '~ button[0].sub_button[0] "实名绑定": url "https://old.test/h5/bind" → "https://wx.test/h5/bind"',
    ]);
  });

  it('matches buttons by name, so an insertion is one addition and the rest moved', () => {
    const live = clone(FILE);
    live.button[0]!.sub_button!.splice(1, 1);
    assert.deepEqual(lines(FILE, live), [
      '+ button[0].sub_button[1] "实名注册": added (view https://wx.test/h5/register)',
      '~ button[0].sub_button[2] "微信扫码登录": moved from button[0].sub_button[1]',
    ]);
  });

  it('names removed buttons by their place in the live menu', () => {
    const live = clone(FILE);
    live.button.push({ name: '旧菜单', sub_button: [{ type: 'click', name: '通知公告', key: 'NOTICE' }] });
    assert.deepEqual(lines(FILE, live), [
      '- button[2] "旧菜单": removed (sub-menu of 1)',
      '- button[2].sub_button[0] "通知公告": removed (click NOTICE)',
    ]);
  });

  it('reads a rename in place as a change of name', () => {
    const live = clone(FILE);
    live.button[1]!.name = '问题解答';
    assert.deepEqual(lines(FILE, live), ['~ button[1] "常见问题": name "问题解答" → "常见问题"']);
  });

  it('shows a button that became a sub-menu, with its new sub-buttons', () => {
    const file = clone(FILE);
    file.button[1] = { name: '常见问题', sub_button: [{ type: 'click', name: '绑定问题', key: 'FAQ' }] };
    assert.deepEqual(lines(file, FILE), [
      '~ button[1] "常见问题": type "click" → (none); key "FAQ" → (none); now opens a sub-menu',
      '+ button[1].sub_button[0] "绑定问题": added (click FAQ)',
    ]);
  });

  it('swaps read as two moves', () => {
    const file = clone(FILE);
    file.button.reverse();
    assert.deepEqual(lines(file, FILE), [
      '~ button[0] "常见问题": moved from button[1]',
      '~ button[1] "微办税": moved from button[0]',
    ]);
  });
});
