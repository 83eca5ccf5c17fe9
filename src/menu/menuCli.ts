import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { Config } from '../config/Config';
import { ConfigError, loadConfig } from '../config/loadConfig';
import { createLogger, type Logger } from '../logging/createLogger';
import { projectRoot } from '../projectRoot';
import { ERRCODE_MEANINGS, WeChatApiError, WeChatUnavailableError } from '../wechat/api/WeChatApiError';
import { ReplyTemplates } from '../wechat/ReplyTemplates';
import { diffMenus, formatDifference, normalizeLiveMenu } from './diffMenus';
import { formatProblem, type Menu } from './Menu';
import { fillPlaceholders, MenuFileError, readMenuFile } from './menuFile';
import { MenuValidator, menuSize } from './MenuValidator';
import { openMenuApi, TokenStoreUnavailableError, type OpenedMenuApi } from './openMenuApi';

/** Exit codes of `npm run menu` (docs/menu.md). */
export const EXIT = {
  ok: 0,
  /** WeChat answered an errcode, could not be reached, or Redis (the token store) could not. */
  failed: 1,
  /** Nothing was sent: bad usage, invalid configuration, or a menu file that is unreadable or breaks a rule. */
  invalid: 2,
  /** diff: the live menu differs from the file. */
  differs: 3,
} as const;

export const USAGE = `usage: npm run menu -- <command> [--file FILE] [--dry-run]
commands:
  publish    validate the menu file, then publish it (POST /cgi-bin/menu/create)
  get        print the live menu (GET /cgi-bin/menu/get) in the file's shape
  diff       compare the menu file with the live menu, button by button
  delete     delete the live menu, and every conditional menu with it (GET /cgi-bin/menu/delete)
options:
  --file FILE   the menu file for publish and diff (default: menus/menu.json)
  --dry-run     publish: validate and print the exact JSON that would be sent; delete: say what would
                be deleted. Nothing is sent to WeChat.
exit codes: 0 done (diff: no differences) · 1 WeChat or Redis failed · 2 nothing sent: usage,
configuration or menu file invalid · 3 diff found differences`;

export interface MenuCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface MenuCliOptions {
  /** Where menus/ and templates/ are (default: the project root). */
  root?: string;
  /** What a relative --file is relative to (default: process.cwd()). */
  cwd?: string;
  logger?: Logger;
  /** Builds the WeChat client (default: shares the token through REDIS_URL). */
  openApi?: (config: Config, logger: Logger) => Promise<OpenedMenuApi>;
}

type Command = 'publish' | 'get' | 'diff' | 'delete';
const COMMANDS: readonly Command[] = ['publish', 'get', 'diff', 'delete'];

/** What to say after an errcode, beyond its meaning. */
const HINTS: Record<number, string> = {
  [-1]: 'WeChat is busy; try again in a moment',
  40001: 'check WECHAT_APPID and WECHAT_APPSECRET',
  40013: 'check WECHAT_APPID',
  40125: 'check WECHAT_APPSECRET',
  40164: "add this machine's outbound IP address to the IP whitelist (公众平台 → 设置与开发 → 基本配置)",
  45009: 'the daily quota is used up (menu/create: 1000 a day); try tomorrow, or reset the quota in the console',
  48001: 'this account may not use the menu API (a 服务号, or a certified 订阅号, is needed)',
};
const MENU_RULE_ERRCODES = new Set([40016, 40017, 40018, 40019, 40021, 40023, 40025, 40027, 40007, 47001]);

/**
 * `npm run menu -- publish|get|diff|delete [--file F] [--dry-run]`, in-process: everything but
 * reading .env and exiting. Returns the exit code.
 */
export async function runMenuCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: MenuCliIo,
  options: MenuCliOptions = {},
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        file: { type: 'string', short: 'f' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}\n`);
    return EXIT.invalid;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return EXIT.ok;
  }
  const command = positionals[0] as Command | undefined;
  if (positionals.length !== 1 || !command || !COMMANDS.includes(command)) {
    io.stderr(
      `${positionals.length === 0 ? 'no command given' : `unknown command: ${positionals.join(' ')}`}\n${USAGE}\n`,
    );
    return EXIT.invalid;
  }
  const dryRun = values['dry-run'] === true;
  if (values.file !== undefined && command !== 'publish' && command !== 'diff') {
    io.stderr(`--file applies to publish and diff only\n${USAGE}\n`);
    return EXIT.invalid;
  }
  if (dryRun && command !== 'publish' && command !== 'delete') {
    io.stderr(`--dry-run applies to publish and delete only (${command} only reads)\n${USAGE}\n`);
    return EXIT.invalid;
  }

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${error.message}\n`);
    return EXIT.invalid;
  }
  const logger = options.logger ?? cliLogger(config.logLevel);
  const root = options.root ?? projectRoot();
  const cwd = options.cwd ?? process.cwd();
  const apiBase = config.wechat.apiBase;

  // The file is checked before anything is opened: an invalid menu never costs a connection.
  let menu: Menu | null = null;
  let shownFile = '';
  if (command === 'publish' || command === 'diff') {
    const file = values.file !== undefined ? path.resolve(cwd, values.file) : path.join(root, 'menus', 'menu.json');
    shownFile = displayPath(file, cwd);
    menu = loadValidMenu(file, shownFile, config, root, io);
    if (!menu) return EXIT.invalid;
  }

  if (dryRun && command === 'publish') {
    // Exactly the body WeChatHttp posts: JSON.stringify of the menu, UTF-8 characters as they are.
    io.stdout(`${JSON.stringify(menu)}\n`);
    io.stderr(
      `${shownFile} is valid (${menuSize(menu!)}); --dry-run: the line above is the body of POST ${apiBase}/cgi-bin/menu/create. Nothing was sent.\n`,
    );
    return EXIT.ok;
  }
  if (dryRun && command === 'delete') {
    io.stdout(
      `--dry-run: would delete the live menu and every conditional menu (GET ${apiBase}/cgi-bin/menu/delete). Nothing was sent.\n`,
    );
    return EXIT.ok;
  }

  let opened: OpenedMenuApi;
  try {
    opened = await (options.openApi ?? openMenuApi)(config, logger);
  } catch (error) {
    if (!(error instanceof TokenStoreUnavailableError)) throw error;
    io.stderr(`${error.message}\n`);
    return EXIT.failed;
  }
  try {
    switch (command) {
      case 'publish':
        await opened.api.createMenu(menu);
        io.stdout(
          `published ${shownFile} (${menuSize(menu!)}) to ${apiBase}. WeChat clients show it when the chat is next opened, after at most about 5 minutes (re-following shows it at once).\n`,
        );
        return EXIT.ok;
      case 'get': {
        const live = await opened.api.getMenu();
        if (live === null) {
          io.stderr(`no menu is published (WeChat: 46003 ${ERRCODE_MEANINGS[46003]})\n`);
          return EXIT.ok;
        }
        const normalized = normalizeLiveMenu(live);
        const menuid = (live as { menuid?: number }).menuid;
        io.stdout(`${JSON.stringify(normalized, null, 2)}\n`);
        io.stderr(`live menu${menuid === undefined ? '' : ` (menuid ${String(menuid)})`}: ${menuSize(normalized)}\n`);
        return EXIT.ok;
      }
      case 'diff': {
        const live = await opened.api.getMenu();
        const differences = diffMenus(menu!, live === null ? null : normalizeLiveMenu(live));
        if (differences.length === 0) {
          io.stdout(`the live menu matches ${shownFile}\n`);
          return EXIT.ok;
        }
        io.stdout(
          `--- live menu (${live === null ? `none: WeChat 46003 ${ERRCODE_MEANINGS[46003]}` : 'menu/get'})\n+++ ${shownFile} (PUBLIC_URL ${config.publicUrl})\n`,
        );
        for (const difference of differences) io.stdout(`${formatDifference(difference)}\n`);
        const count = (kind: string) => differences.filter((d) => d.kind === kind).length;
        io.stdout(
          `${differences.length} difference${differences.length === 1 ? '' : 's'}: ${count('added')} added, ${count('removed')} removed, ${count('changed')} changed. \`npm run menu -- publish\` makes the live menu match the file.\n`,
        );
        return EXIT.differs;
      }
      case 'delete':
        await opened.api.deleteMenu();
        io.stdout('deleted the live menu (and every conditional menu)\n');
        return EXIT.ok;
    }
  } catch (error) {
    if (error instanceof WeChatApiError) {
      io.stderr(
        `WeChat ${error.api} failed: errcode ${error.errcode} (${error.meaning}), errmsg ${JSON.stringify(error.errmsg)}\n`,
      );
      const hint =
        HINTS[error.errcode] ??
        (MENU_RULE_ERRCODES.has(error.errcode)
          ? 'WeChat refused the menu although it passed the local checks: compare its rules with menus/menu.schema.json (docs/menu.md)'
          : undefined);
      if (hint) io.stderr(`hint: ${hint}\n`);
      return EXIT.failed;
    }
    if (error instanceof WeChatUnavailableError) {
      io.stderr(`${error.message} (WECHAT_API_BASE ${apiBase})\n`);
      return EXIT.failed;
    }
    throw error;
  } finally {
    await opened.close();
  }
}

/** Reads, fills in `${PUBLIC_URL}` and validates; prints one line per problem and returns null when invalid. */
function loadValidMenu(file: string, shownFile: string, config: Config, root: string, io: MenuCliIo): Menu | null {
  let raw: unknown;
  try {
    raw = readMenuFile(file);
  } catch (error) {
    if (!(error instanceof MenuFileError)) throw error;
    io.stderr(`${error.message}\nNothing was sent to WeChat.\n`);
    return null;
  }
  const filled = fillPlaceholders(raw, config.publicUrl);
  const { menu } = filled;
  const problems = menuValidator(root, config.publicUrl).validate(menu, filled.problems);
  if (problems.length === 0) return menu as Menu;
  io.stderr(
    `${shownFile}: ${problems.length} problem${problems.length === 1 ? '' : 's'} (with PUBLIC_URL ${config.publicUrl}); nothing was sent to WeChat:\n`,
  );
  for (const problem of problems) io.stderr(`${formatProblem(problem)}\n`);
  return null;
}

/** The validator the CLI uses: WeChat's rules from menus/menu.schema.json, replies from templates/replies. */
export function menuValidator(root: string, publicUrl: string): MenuValidator {
  const replies = new ReplyTemplates(path.join(root, 'templates', 'replies'), {
    bindUrl: `${publicUrl}/h5/bind`,
    registerUrl: `${publicUrl}/h5/register`,
  });
  return new MenuValidator({ schemaFile: path.join(root, 'menus', 'menu.schema.json'), replies });
}

function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** Logs on stderr, at warn or quieter, so stdout carries only the command's answer. */
function cliLogger(level: string): Logger {
  const quiet = ['warn', 'error', 'fatal', 'silent'].includes(level) ? level : 'warn';
  return createLogger(quiet, pino.destination({ dest: 2, sync: true }));
}
