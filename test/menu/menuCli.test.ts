import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Menu } from '../../src/menu/Menu';
import { EXIT, runMenuCli } from '../../src/menu/menuCli';
import { fillPlaceholders, readMenuFile } from '../../src/menu/menuFile';
import { projectRoot } from '../../src/projectRoot';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { createRedis } from '../../src/store/createRedis';
import { listen } from '../support/testApp';
import { testEnvironment, testRun } from '../support/testEnv';

const ROOT = projectRoot();
const PUBLIC_URL = 'https://wx.etax.example.cn';
const SHIPPED = fillPlaceholders(readMenuFile(path.join(ROOT, 'menus', 'menu.json')), PUBLIC_URL).menu as Menu;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let instance = 0;

describe('menu CLI: npm run menu -- publish|get|diff|delete against the WeChat simulator', () => {
  let sim: WeChatSimulator;
  let simUrl: string;
  let closeSim: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let tmp: string;

  /** The CLI in-process, as `npm run menu -- ...argv` runs it. */
  async function run(argv: string[], overrides: Record<string, string | undefined> = {}): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await runMenuCli(
      argv,
      { ...env, ...overrides },
      {
        stdout: (text) => {
          stdout += text;
        },
        stderr: (text) => {
          stderr += text;
        },
      },
      { cwd: ROOT },
    );
    return { code, stdout, stderr };
  }

  /** The real CLI in a child process: `npx tsx src/cli/menu.ts ...argv`. */
  function runChild(argv: string[]): Promise<Run> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const [name, value] of Object.entries(env)) if (value !== undefined) childEnv[name] = value;
    return new Promise((resolve, reject) => {
      const child = spawn('npx', ['tsx', 'src/cli/menu.ts', ...argv], {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  const callsTo = (suffix: string): number => sim.calls.filter((call) => call.path.endsWith(suffix)).length;
  const writeMenu = (menu: unknown): string => {
    const file = path.join(tmp, `menu-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(menu, null, 2));
    return file;
  };

  beforeEach(async () => {
    const base = testEnvironment();
    sim = new WeChatSimulator({ appId: base.WECHAT_APPID!, appSecret: base.WECHAT_APPSECRET! });
    const served = await listen(sim.app);
    simUrl = served.url;
    closeSim = served.close;
    instance += 1;
    env = testEnvironment({
      PUBLIC_URL,
      WECHAT_API_BASE: simUrl,
      WECHAT_OPEN_BASE: simUrl,
      WECHAT_MP_BASE: simUrl,
      // This run's Redis prefix, one corner per test: each test's simulator issues its own tokens.
      REDIS_KEY_PREFIX: `${testRun.redisPrefix}menu-cli-${instance}:`,
    });
    tmp = mkdtempSync(path.join(tmpdir(), 'etax-menu-'));
  });
  afterEach(async () => {
    await closeSim();
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('publish', () => {
    it('publishes the shipped menu: WeChat then has exactly the file, ${PUBLIC_URL} filled in', async () => {
      const result = await run(['publish']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.match(
        result.stdout,
        /^published menus\/menu\.json \(3 buttons, 11 sub-buttons\) to http:\/\/127\.0\.0\.1:\d+\./,
      );
      assert.deepEqual(sim.menu, SHIPPED);
      assert.equal(callsTo('/cgi-bin/menu/create'), 1);
    });

    it('publishes with REDIS_URL=memory (the embedded demo), keeping a token of its own', async () => {
      const result = await run(['publish'], { REDIS_URL: 'memory' });
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.deepEqual(sim.menu, SHIPPED);
      assert.equal(sim.tokenFetches(), 1);
    });

    it('shares the access token through Redis under REDIS_KEY_PREFIX, as the servers do', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      assert.equal((await run(['get'])).code, EXIT.ok);
      assert.equal(sim.tokenFetches(), 1, 'the second command reused the stored token');
      const redis = createRedis(testRun.redisUrl, () => undefined);
      await redis.connect();
      try {
        assert.ok(await redis.get(`${env.REDIS_KEY_PREFIX}wechat:access-token`));
      } finally {
        await redis.close();
      }
    });

    it('recovers once when WeChat calls the stored token stale', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      sim.invalidateAccessTokens();
      const result = await run(['delete']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.equal(sim.menu, null);
    });

    it('--dry-run prints the exact JSON it would send and sends nothing', async () => {
      const result = await run(['publish', '--dry-run']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.equal(result.stdout, `${JSON.stringify(SHIPPED)}\n`);
      assert.match(result.stdout, /"url":"https:\/\/wx\.etax\.example\.cn\/h5\/bind"/);
      assert.match(
        result.stderr,
        /menus\/menu\.json is valid \(3 buttons, 11 sub-buttons\); --dry-run: .*POST http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/menu\/create\. Nothing was sent\./,
      );
      assert.equal(sim.calls.length, 0);
    });

    it('refuses an invalid file before any call, one line per problem with its JSON path', async () => {
      const file = writeMenu({
        button: [
          {
            name: '纳税服务中心',
            sub_button: [
              { type: 'view', name: '实名绑定' },
              { type: 'click', name: '常见问题', key: 'FAQ' },
            ],
          },
          { name: '办税', type: 'click', sub_button: [{ type: 'click', name: '指南', key: 'TAX_GUIDE' }] },
        ],
      });
      const result = await run(['publish', '--file', file]);
      assert.equal(result.code, EXIT.invalid);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trim().split('\n');
      assert.match(
        lines[0]!,
        /: 3 problems \(with PUBLIC_URL https:\/\/wx\.etax\.example\.cn\); nothing was sent to WeChat:$/,
      );
      assert.deepEqual(
        lines.slice(1).map((line) => line.replace(/ \(WeChat: .*\)$/, '')),
        [
          'button[0].name: 18 bytes, at most 16 (UTF-8; a Chinese character is 3 bytes): "纳税服务中心"',
          'button[0].sub_button[0].url: missing: a view button needs url',
          'button[1].type: not allowed on a button with sub_button: it only opens its sub-menu, so it has no type, key, url or other action',
        ],
      );
      assert.equal(sim.calls.length, 0, 'not even an access token was fetched');
      assert.equal(sim.menu, null);
    });

    it('refuses a file that is not JSON, or missing, with exit code 2', async () => {
      const broken = path.join(tmp, 'broken.json');
      writeFileSync(broken, '{"button": [\n  {"name": "微办税",}\n]}');
      const notJson = await run(['publish', '--file', broken]);
      assert.equal(notJson.code, EXIT.invalid);
      assert.match(notJson.stderr, /broken\.json is not valid JSON: .*line 2/);
      const missing = await run(['publish', '--file', path.join(tmp, 'none.json')]);
      assert.equal(missing.code, EXIT.invalid);
      assert.match(missing.stderr, /cannot read .*none\.json: ENOENT/);
      assert.equal(sim.calls.length, 0);
    });

    it('shows a WeChat errcode with its meaning and exits 1', async () => {
      sim.failNext('/cgi-bin/menu/create', { errcode: 40018, errmsg: 'invalid button name size' });
      const result = await run(['publish']);
      assert.equal(result.code, EXIT.failed);
      assert.match(
        result.stderr,
        /^WeChat menu\/create failed: errcode 40018 \(invalid menu button name size\), errmsg "invalid button name size"\n/,
      );
      assert.match(result.stderr, /hint: WeChat refused the menu although it passed the local checks/);
      assert.equal(sim.menu, null);
    });

    it('exits 1 with the number of buttons WeChat refused (40016)', async () => {
      sim.failNext('/cgi-bin/menu/create', { errcode: 40016, errmsg: 'invalid button size' });
      const result = await run(['publish']);
      assert.equal(result.code, EXIT.failed);
      assert.match(result.stderr, /errcode 40016 \(invalid number of menu buttons\)/);
    });

    it('exits 1 when WeChat cannot be reached', async () => {
      await closeSim();
      const result = await run(['publish']);
      assert.equal(result.code, EXIT.failed);
      assert.match(
        result.stderr,
        /^WeChat stable_token unavailable: .*\(WECHAT_API_BASE http:\/\/127\.0\.0\.1:\d+\)\n$/,
      );
    });

    it('exits 1 on an HTTP error from WeChat', async () => {
      sim.failNext('/cgi-bin/menu/create', { status: 502 });
      const result = await run(['publish']);
      assert.equal(result.code, EXIT.failed);
      assert.match(result.stderr, /WeChat menu\/create unavailable: HTTP 502/);
    });

    it('exits 1 when Redis, where the token is shared, cannot be reached', async function () {
      this.timeout(15000);
      const result = await run(['publish'], { REDIS_URL: 'redis://127.0.0.1:1' });
      assert.equal(result.code, EXIT.failed);
      assert.match(result.stderr, /^Redis \(where the shared WeChat access token lives\) is not reachable/);
      assert.equal(sim.calls.length, 0);
    });
  });

  describe('get', () => {
    it('says so when no menu is published (46003) and prints nothing on stdout', async () => {
      const result = await run(['get']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, 'no menu is published (WeChat: 46003 no menu exists)\n');
      assert.equal(callsTo('/cgi-bin/menu/get'), 1);
    });

    it('prints the live menu in the shape of the file', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      const result = await run(['get']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), SHIPPED);
      assert.match(result.stderr, /^live menu \(menuid \d+\): 3 buttons, 11 sub-buttons\n$/);
    });

    it('shows an errcode on get', async () => {
      sim.failNext('/cgi-bin/menu/get', { errcode: 48001, errmsg: 'api unauthorized' });
      const result = await run(['get']);
      assert.equal(result.code, EXIT.failed);
      assert.match(
        result.stderr,
        /errcode 48001 \(API not authorized for this account\), errmsg "api unauthorized"\nhint: this account may not use the menu API/,
      );
    });
  });

  describe('diff', () => {
    it('shows every button as added when nothing is published', async () => {
      const result = await run(['diff']);
      assert.equal(result.code, EXIT.differs, result.stderr);
      const lines = result.stdout.trim().split('\n');
      assert.equal(lines[0], '--- live menu (none: WeChat 46003 no menu exists)');
      assert.equal(lines[1], '+++ menus/menu.json (PUBLIC_URL https://wx.etax.example.cn)');
      assert.equal(lines[2], '+ button[0] "微办税": added (sub-menu of 3)');
      assert.equal(lines[3], '+ button[0].sub_button[0] "实名绑定": added (view https://wx.etax.example.cn/h5/bind)');
      assert.equal(
        lines.at(-1),
        '14 differences: 14 added, 0 removed, 0 changed. `npm run menu -- publish` makes the live menu match the file.',
      );
    });

    it('finds no difference right after publish', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      const result = await run(['diff']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.equal(result.stdout, 'the live menu matches menus/menu.json\n');
    });

    it('shows what publishing a changed file would change, by path', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      const changed = JSON.parse(JSON.stringify(SHIPPED)) as Menu;
      changed.button[0]!.sub_button![1]!.url = 'https://wx.etax.example.cn/h5/register?from=menu';
      changed.button[1]!.sub_button!.pop();
      changed.button[2]!.sub_button!.push({ type: 'click', name: '办税指南', key: 'TAX_GUIDE' });
      const result = await run(['diff', '--file', writeMenu(changed)]);
      assert.equal(result.code, EXIT.differs, result.stderr);
      assert.deepEqual(result.stdout.trim().split('\n').slice(2), [
        '~ button[0].sub_button[1] "实名注册": url "https://wx.etax.example.cn/h5/register" → "https://wx.etax.example.cn/h5/register?from=menu"',
        '- button[1].sub_button[3] "纳税服务热线": removed (click HOTLINE_12366)',
        '+ button[2].sub_button[4] "办税指南": added (click TAX_GUIDE)',
        '3 differences: 1 added, 1 removed, 1 changed. `npm run menu -- publish` makes the live menu match the file.',
      ]);
      assert.equal(callsTo('/cgi-bin/menu/create'), 1, 'diff never publishes');
    });

    it('validates the file first', async () => {
      const result = await run(['diff', '--file', writeMenu({ button: [] })]);
      assert.equal(result.code, EXIT.invalid);
      assert.match(result.stderr, /\nbutton: 0 top-level buttons, at least 1/);
      assert.equal(sim.calls.length, 0);
    });
  });

  describe('delete', () => {
    it('deletes the live menu; get then answers 46003', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      const result = await run(['delete']);
      assert.equal(result.code, EXIT.ok, result.stderr);
      assert.equal(result.stdout, 'deleted the live menu (and every conditional menu)\n');
      assert.equal(sim.menu, null);
      assert.match((await run(['get'])).stderr, /46003/);
    });

    it('--dry-run deletes nothing', async () => {
      assert.equal((await run(['publish'])).code, EXIT.ok);
      const calls = sim.calls.length;
      const result = await run(['delete', '--dry-run']);
      assert.equal(result.code, EXIT.ok);
      assert.match(
        result.stdout,
        /^--dry-run: would delete the live menu and every conditional menu \(GET http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/menu\/delete\)\. Nothing was sent\.\n$/,
      );
      assert.equal(sim.calls.length, calls);
      assert.deepEqual(sim.menu, SHIPPED);
    });

    it('shows an errcode on delete', async () => {
      sim.failNext('/cgi-bin/menu/delete', { errcode: -1, errmsg: 'system error' });
      const result = await run(['delete']);
      assert.equal(result.code, EXIT.failed);
      assert.match(result.stderr, /errcode -1 \(system busy, retry later\)/);
    });
  });

  describe('usage and configuration', () => {
    const cases: [string, string[], RegExp][] = [
      ['no command', [], /^no command given\nusage: npm run menu/],
      ['an unknown command', ['show'], /^unknown command: show\n/],
      ['two commands', ['get', 'diff'], /^unknown command: get diff\n/],
      ['an unknown option', ['publish', '--force'], /Unknown option '--force'/],
      ['--file with get', ['get', '--file', 'x.json'], /^--file applies to publish and diff only\n/],
      ['--dry-run with diff', ['diff', '--dry-run'], /^--dry-run applies to publish and delete only/],
    ];
    for (const [title, argv, message] of cases) {
      it(`refuses ${title} with exit code 2`, async () => {
        const result = await run(argv);
        assert.equal(result.code, EXIT.invalid);
        assert.match(result.stderr, message);
        assert.equal(sim.calls.length, 0);
      });
    }

    it('prints the usage for --help', async () => {
      const result = await run(['--help']);
      assert.equal(result.code, EXIT.ok);
      assert.match(result.stdout, /^usage: npm run menu -- <command> \[--file FILE\] \[--dry-run\]\n/);
      assert.match(result.stdout, /exit codes: 0 done/);
    });

    it('lists configuration problems and exits 2', async () => {
      const result = await run(['publish'], { WECHAT_APPID: undefined, PUBLIC_URL: 'not a url' });
      assert.equal(result.code, EXIT.invalid);
      assert.match(result.stderr, /^invalid configuration:\n/);
      assert.match(result.stderr, /WECHAT_APPID is required/);
      assert.match(result.stderr, /PUBLIC_URL/);
    });
  });

  describe('as a process: npx tsx src/cli/menu.ts', function () {
    this.timeout(30000);

    it('publishes the shipped menu and exits 0', async () => {
      const result = await runChild(['publish']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^published menus\/menu\.json \(3 buttons, 11 sub-buttons\)/);
      assert.equal(result.stderr, '');
      assert.deepEqual(sim.menu, SHIPPED);
    });

    it('exits 1 on a WeChat errcode, printing the code and its meaning', async () => {
      sim.failNext('/cgi-bin/menu/create', { errcode: 40018, errmsg: 'invalid button name size' });
      const result = await runChild(['publish']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /errcode 40018 \(invalid menu button name size\), errmsg "invalid button name size"/);
      assert.equal(sim.menu, null);
    });
  });
});
