import { existsSync } from 'node:fs';
import { runMenuCli } from '../menu/menuCli';

/**
 * `npm run menu -- publish|get|diff|delete [--file F] [--dry-run]`: the admin CLI for the custom
 * menu (docs/menu.md). Needs the WeChat settings and Redis (the shared access token), not MySQL.
 */
if (existsSync('.env')) process.loadEnvFile('.env');
runMenuCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`menu: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
