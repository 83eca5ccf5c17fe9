import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProblem, pointerToPath, type Menu, type MenuButton, type MenuProblem } from '../../src/menu/Menu';
import { menuValidator } from '../../src/menu/menuCli';
import { fillPlaceholders, PUBLIC_URL_PLACEHOLDER } from '../../src/menu/menuFile';
import { projectRoot } from '../../src/projectRoot';
import { validateMenu as wechatValidates } from '../../src/sandbox/simulator/menuRules';
import { WeChatApiError as SimulatedWeChatError } from '../../src/sandbox/simulator/WeChatApiError';

const ROOT = projectRoot();
const PUBLIC_URL = 'https://wx.etax.example.cn';
const validator = menuValidator(ROOT, PUBLIC_URL);

/** What the CLI does before publishing: fill in ${PUBLIC_URL}, then check. */
function check(menu: unknown, publicUrl = PUBLIC_URL): MenuProblem[] {
  const filled = fillPlaceholders(menu, publicUrl);
  return (publicUrl === PUBLIC_URL ? validator : menuValidator(ROOT, publicUrl)).validate(filled.menu, filled.problems);
}

/** The errcode the simulated WeChat answers for a menu, or 0 when it accepts it. */
function wechatErrcode(menu: unknown, publicUrl = PUBLIC_URL): number {
  try {
    wechatValidates(fillPlaceholders(menu, publicUrl).menu);
    return 0;
  } catch (error) {
    if (error instanceof SimulatedWeChatError) return error.errcode;
    throw error;
  }
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const cjk = (count: number): string => '税'.repeat(count);

/** A small valid menu the table below breaks one rule at a time. */
const BASE: Menu = {
  button: [
    {
      name: '微办税',
      sub_button: [
        { type: 'view', name: '实名绑定', url: `${PUBLIC_URL_PLACEHOLDER}/h5/bind` },
        { type: 'click', name: '微信扫码登录', key: 'LOGIN_HELP' },
      ],
    },
    { type: 'click', name: '常见问题', key: 'FAQ' },
  ],
};

interface Case {
  title: string;
  menu: (menu: Menu) => unknown;
  path: string;
  message: RegExp;
  /** What WeChat (the simulator) answers for the same menu; null where it has no such rule. */
  wechat: number | null;
  /** How many problems the menu has in all (default 1: the base is otherwise valid). */
  problems?: number;
}

const sub = (menu: Menu): MenuButton[] => menu.button[0]!.sub_button!;
const click = (name: string): MenuButton => ({ type: 'click', name, key: 'FAQ' });

const CASES: Case[] = [
  { title: 'no button list', menu: () => ({}), path: 'button', message: /^missing/, wechat: 40016 },
  {
    title: 'no top-level buttons',
    menu: () => ({ button: [] }),
    path: 'button',
    message: /^0 top-level buttons, at least 1 \(WeChat: 40016/,
    wechat: 40016,
  },
  {
    title: '4 top-level buttons',
    menu: (m) => ({ button: [...m.button, click('甲'), click('乙')] }),
    path: 'button',
    message: /^4 top-level buttons, at most 3 \(WeChat: 40016 invalid number of menu buttons\)$/,
    wechat: 40016,
  },
  {
    title: '0 sub-buttons',
    menu: (m) => {
      m.button[0]!.sub_button = [];
      return m;
    },
    path: 'button[0].sub_button',
    message: /^0 sub-buttons, at least 1/,
    wechat: 40023,
  },
  {
    title: '6 sub-buttons',
    menu: (m) => {
      m.button[0]!.sub_button!.push(click('甲'), click('乙'), click('丙'), click('丁'));
      return m;
    },
    path: 'button[0].sub_button',
    message: /^6 sub-buttons, at most 5 \(WeChat: 40023/,
    wechat: 40023,
  },
  {
    title: 'a top-level name of 6 Chinese characters (18 bytes)',
    menu: (m) => {
      m.button[0]!.name = cjk(6);
      return m;
    },
    path: 'button[0].name',
    message: /^18 bytes, at most 16 \(UTF-8; a Chinese character is 3 bytes\): "税税税税税税" \(WeChat: 40018/,
    wechat: 40018,
  },
  {
    title: 'a top-level name of 17 ASCII bytes',
    menu: (m) => {
      m.button[1]!.name = 'A'.repeat(17);
      return m;
    },
    path: 'button[1].name',
    message: /^17 bytes, at most 16/,
    wechat: 40018,
  },
  {
    title: 'a sub-button name of 61 bytes',
    menu: (m) => {
      sub(m)[1]!.name = `${cjk(20)}x`;
      return m;
    },
    path: 'button[0].sub_button[1].name',
    message: /^61 bytes, at most 60 .*\(WeChat: 40025/,
    wechat: 40025,
  },
  {
    title: 'an empty name',
    menu: (m) => {
      sub(m)[0]!.name = '';
      return m;
    },
    path: 'button[0].sub_button[0].name',
    message: /^must not be empty$/,
    wechat: 40025,
  },
  {
    title: 'a name that is not a string',
    menu: (m) => {
      (m.button[1] as unknown as Record<string, unknown>).name = 12366;
      return m;
    },
    path: 'button[1].name',
    message: /^must be a string$/,
    wechat: 40018,
  },
  {
    title: 'a key of 129 bytes',
    menu: (m) => {
      m.button[1]!.key = 'K'.repeat(129);
      return m;
    },
    path: 'button[1].key',
    message: /^129 bytes, at most 128 \(WeChat: 40019/,
    wechat: 40019,
  },
  {
    title: 'a url of 1025 bytes',
    menu: (m) => {
      sub(m)[0]!.url = `https://wx.etax.example.cn/${'a'.repeat(1025 - 27)}`;
      return m;
    },
    path: 'button[0].sub_button[0].url',
    message: /^1025 bytes, at most 1024 \(WeChat: 40027/,
    wechat: 40027,
  },
  {
    title: 'a url that passes 1024 bytes only once ${PUBLIC_URL} is filled in',
    menu: (m) => {
      sub(m)[0]!.url = `${PUBLIC_URL_PLACEHOLDER}/${'a'.repeat(1024 - PUBLIC_URL_PLACEHOLDER.length - 1)}`;
      return m;
    },
    path: 'button[0].sub_button[0].url',
    message: /^1037 bytes, at most 1024/,
    wechat: 40027,
  },
  {
    title: 'a top-level url of 1025 bytes',
    menu: (m) => ({
      button: [m.button[0], { type: 'view', name: '绑定', url: `https://x.test/${'a'.repeat(1025 - 15)}` }],
    }),
    path: 'button[1].url',
    message: /^1025 bytes, at most 1024 \(WeChat: 40021/,
    wechat: 40021,
  },
  {
    title: 'an unknown type',
    menu: (m) => {
      m.button[1]!.type = 'text';
      return m;
    },
    path: 'button[1].type',
    message: /^unknown type "text"; WeChat knows click, view, .*miniprogram \(WeChat: 40017/,
    wechat: 40017,
  },
  {
    title: 'a view button without url',
    menu: (m) => {
      delete sub(m)[0]!.url;
      return m;
    },
    path: 'button[0].sub_button[0].url',
    message: /^missing: a view button needs url$/,
    wechat: 40027,
  },
  {
    title: 'a click button without key',
    menu: (m) => {
      delete sub(m)[1]!.key;
      return m;
    },
    path: 'button[0].sub_button[1].key',
    message: /^missing: a click button needs key$/,
    wechat: 40019,
  },
  {
    title: 'a scancode_push button without key',
    menu: (m) => {
      m.button[1] = { type: 'scancode_push', name: '扫一扫' };
      return m;
    },
    path: 'button[1].key',
    message: /^missing: a scancode_push button needs key$/,
    wechat: 40019,
  },
  {
    title: 'a top-level button with neither type nor sub_button',
    menu: (m) => {
      m.button[1] = { name: '空' };
      return m;
    },
    path: 'button[1].type',
    message: /^missing: a top-level button needs a type .* or a sub_button list$/,
    wechat: 40017,
  },
  {
    title: 'a parent with a type',
    menu: (m) => {
      m.button[0]!.type = 'click';
      return m;
    },
    path: 'button[0].type',
    message: /^not allowed on a button with sub_button/,
    wechat: 40017,
  },
  {
    title: 'a parent with a url',
    menu: (m) => {
      m.button[0]!.url = 'https://wx.etax.example.cn/';
      return m;
    },
    path: 'button[0].url',
    message: /^not allowed on a button with sub_button/,
    wechat: null,
  },
  {
    title: 'a third menu level',
    menu: (m) => {
      sub(m)[1] = { name: '更多', sub_button: [click('甲')] };
      return m;
    },
    path: 'button[0].sub_button[1].sub_button',
    message: /^menus have two levels/,
    wechat: 40017,
  },
  {
    title: 'a miniprogram button without pagepath',
    menu: (m) => {
      m.button[1] = {
        type: 'miniprogram',
        name: '小程序',
        appid: 'wx286b93c14bbf93aa',
        url: 'https://wx.etax.example.cn/',
      };
      return m;
    },
    path: 'button[1].pagepath',
    message: /^missing: a miniprogram button needs pagepath$/,
    wechat: 40017,
  },
  {
    title: 'a miniprogram button without its fallback url',
    menu: (m) => {
      m.button[1] = { type: 'miniprogram', name: '小程序', appid: 'wx286b93c14bbf93aa', pagepath: 'pages/lunar/index' };
      return m;
    },
    path: 'button[1].url',
    message: /^missing: a miniprogram button needs url \(the page shown by clients without mini programs\)$/,
    wechat: 40021,
  },
  {
    title: 'a media_id button without media_id',
    menu: (m) => {
      m.button[1] = { type: 'media_id', name: '图片' };
      return m;
    },
    path: 'button[1].media_id',
    message: /^missing: a media_id button needs media_id$/,
    wechat: 40007,
  },
  {
    title: 'an article_view_limited button without article_id',
    menu: (m) => {
      m.button[1] = { type: 'article_view_limited', name: '图文' };
      return m;
    },
    path: 'button[1].article_id',
    message: /^missing: a article_view_limited button needs article_id$/,
    wechat: 40007,
  },
  {
    title: 'a misspelt field',
    menu: (m) => {
      (sub(m)[0] as unknown as Record<string, unknown>).urll = 'https://x.test/';
      return m;
    },
    path: 'button[0].sub_button[0].urll',
    message: /^unknown field: a button has name, type, key, url/,
    wechat: null,
  },
  {
    title: 'a field beside button',
    menu: (m) => ({ ...m, matchrule: { tag_id: '2' } }),
    path: 'matchrule',
    message: /^unknown field: the menu has "button" only/,
    wechat: null,
  },
  {
    title: 'a url that is not http(s)',
    menu: (m) => {
      sub(m)[0]!.url = 'weixin://dl/chat';
      return m;
    },
    path: 'button[0].sub_button[0].url',
    message: /^"weixin:\/\/dl\/chat" is not an http:\/\/ or https:\/\/ URL/,
    wechat: null,
  },
  {
    title: 'an unknown placeholder',
    menu: (m) => {
      sub(m)[0]!.url = 'https://${HOST}/h5/bind';
      return m;
    },
    path: 'button[0].sub_button[0].url',
    message: /^unknown placeholder \$\{HOST\}; only \$\{PUBLIC_URL\} is filled in$/,
    wechat: null,
  },
  {
    title: '${PUBLIC_URL} outside a url',
    menu: (m) => {
      m.button[1]!.key = '${PUBLIC_URL}';
      return m;
    },
    path: 'button[1].key',
    message: /^\$\{PUBLIC_URL\} is filled in url fields only$/,
    wechat: null,
    problems: 2,
  },
  {
    title: 'a click key without a reply template',
    menu: (m) => {
      m.button[1]!.key = 'NO_SUCH_REPLY';
      return m;
    },
    path: 'button[1].key',
    message: /^no reply for click NO_SUCH_REPLY: add templates\/replies\/click\/NO_SUCH_REPLY\.txt$/,
    wechat: null,
  },
  {
    title: 'a click key the /wechat endpoint cannot look up',
    menu: (m) => {
      m.button[1]!.key = 'faq/../help';
      return m;
    },
    path: 'button[1].key',
    message: /this server answers click keys of letters, digits, _ and - only$/,
    wechat: null,
  },
];

describe('menu/MenuValidator', () => {
  it('accepts the base menu of the table, as WeChat does', () => {
    assert.deepEqual(check(BASE), []);
    assert.equal(wechatErrcode(BASE), 0);
  });

  describe('refuses a menu that breaks a rule, naming the JSON path', () => {
    for (const c of CASES) {
      it(c.title, () => {
        const menu = c.menu(clone(BASE));
        const problems = check(menu);
        const lines = problems.map(formatProblem);
        assert.ok(
          problems.some((p) => p.path === c.path && c.message.test(p.message)),
          `expected a problem at ${c.path} matching ${c.message}, got:\n${lines.join('\n')}`,
        );
        assert.equal(problems.length, c.problems ?? 1, lines.join('\n'));
        if (c.wechat !== null) assert.equal(wechatErrcode(menu), c.wechat, 'the simulated WeChat refuses it too');
      });
    }
  });

  it('takes names, keys and urls up to their limits exactly', () => {
    const menu = clone(BASE);
    menu.button[0]!.name = `${cjk(5)}A`; // 16 bytes
    sub(menu)[1]!.name = cjk(20); // 60 bytes
    sub(menu)[0]!.url = `https://wx.etax.example.cn/${'a'.repeat(1024 - 27)}`; // 1024 bytes
    menu.button.push({ type: 'scancode_waitmsg', name: 'ABCDEFGHIJKLMNOP', key: 'K'.repeat(128) });
    assert.deepEqual(check(menu), []);
    assert.equal(wechatErrcode(menu), 0);
  });

  it('lists every problem at once, in menu order', () => {
    const menu = {
      button: [
        {
          name: cjk(6),
          sub_button: [
            { type: 'view', name: '绑定' },
            { type: 'nope', name: '未知' },
          ],
        },
        { name: '空', sub_button: [] },
        click('甲'),
        click('乙'),
      ],
    };
    assert.deepEqual(
      check(menu)
        .map(formatProblem)
        .map((line) => line.replace(/ \(.*$/, '')),
      [
        'button: 4 top-level buttons, at most 3',
        'button[0].name: 18 bytes, at most 16',
        'button[0].sub_button[0].url: missing: a view button needs url',
        'button[0].sub_button[1].type: unknown type "nope"; WeChat knows click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, view_limited, article_id, article_view_limited, miniprogram',
        'button[1].sub_button: 0 sub-buttons, at least 1',
      ],
    );
  });

  it('says what a menu that is not an object is', () => {
    assert.deepEqual(check([]).map(formatProblem), ['(menu): must be an object']);
    assert.deepEqual(check({ button: {} }).map(formatProblem), ['button: must be an array']);
  });

  it('turns JSON pointers into readable paths', () => {
    assert.equal(pointerToPath('/button/0/sub_button/2/name'), 'button[0].sub_button[2].name');
    assert.equal(pointerToPath(''), '');
    assert.equal(pointerToPath('/a~1b/c~0d'), 'a/b.c~d');
  });

  describe('the shipped menus/menu.json', () => {
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'menus', 'menu.json'), 'utf8')) as Menu;

    it('is valid with a PUBLIC_URL filled in, and WeChat would take it', () => {
      assert.deepEqual(check(shipped).map(formatProblem), []);
      assert.deepEqual(check(shipped, 'http://127.0.0.1:3000').map(formatProblem), []);
      assert.equal(wechatErrcode(shipped), 0);
    });

    it('has 微办税 with 实名绑定, 实名注册 and the 微信扫码登录 help', () => {
      const top = shipped.button.find((b) => b.name === '微办税');
      assert.ok(top?.sub_button, '微办税 opens a sub-menu');
      const byName = new Map(top.sub_button.map((b) => [b.name, b]));
      assert.deepEqual(byName.get('实名绑定'), { type: 'view', name: '实名绑定', url: '${PUBLIC_URL}/h5/bind' });
      assert.deepEqual(byName.get('实名注册'), { type: 'view', name: '实名注册', url: '${PUBLIC_URL}/h5/register' });
      assert.ok(top.sub_button.some((b) => b.type === 'click' && b.key === 'LOGIN_HELP' && /扫码登录/.test(b.name)));
    });

    it('points only at what this server answers: its H5 pages or click replies', () => {
      for (const button of shipped.button.flatMap((b) => b.sub_button ?? [b])) {
        assert.ok(button.type === 'view' || button.type === 'click', `${button.name}: ${button.type}`);
        if (button.type === 'view')
          assert.match(button.url!, /^\$\{PUBLIC_URL\}\/h5\/(bind|register|logins)$/, button.name);
      }
    });

    it('has names WeChat shows in full (menu bar: 4 Chinese characters, sub-menus: 8)', () => {
      const width = (name: string) => [...name].reduce((sum, ch) => sum + (ch.charCodeAt(0) > 0xff ? 2 : 1), 0);
      for (const top of shipped.button) {
        assert.ok(width(top.name) <= 8, top.name);
        for (const button of top.sub_button ?? []) assert.ok(width(button.name) <= 16, button.name);
      }
    });
  });
});
