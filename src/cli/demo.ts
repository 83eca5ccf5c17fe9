import path from 'node:path';
import { loadConfig } from '../config/loadConfig';
import { projectRoot } from '../projectRoot';
import { runService } from '../runService';
import { demoEnvironment } from '../sandbox/demo/demoEnvironment';
import { DEMO_ACCOUNT, seedDemoAccount } from '../sandbox/demo/seedDemoAccount';
import { SimulatorUsersFile } from '../sandbox/demo/SimulatorUsersFile';

/**
 * `npm run demo`: the whole system on embedded defaults — SQLite under data/, in-memory stores, the
 * WeChat simulator, the reference portal and the phone simulator — with no MySQL, Redis or WeChat
 * account. Data survives a restart.
 */
async function main(): Promise<void> {
  // DEMO_DATA_DIR lets tests (and a second demo) keep their data apart from data/.
  const dataDir = path.resolve(process.env.DEMO_DATA_DIR ?? path.join(projectRoot(), 'data'));
  const config = loadConfig(demoEnvironment(dataDir, process.env));
  const users = new SimulatorUsersFile(path.join(dataDir, 'simulator-users.json'));
  await runService(config, {
    async beforeListen(deps) {
      users.restore(deps.simulator!);
      await seedDemoAccount(deps.accounts);
    },
    afterListen() {
      const url = config.publicUrl;
      process.stdout.write(
        [
          '',
          '  福建税务 etax-wechat — embedded demo (SQLite in data/, in-memory stores, WeChat simulator)',
          '',
          `  Portal (PC):      ${url}/portal/login`,
          `  Phone (WeChat):   ${url}/sandbox/phone`,
          `  Site (OpenID Connect only): ${url}/rp/`,
          '',
          '  Demo taxpayer (not yet bound to any WeChat):',
          `    登录账号  ${DEMO_ACCOUNT.idNumber}  (or the phone ${DEMO_ACCOUNT.phone})`,
          `    登录密码  ${DEMO_ACCOUNT.password}`,
          `    SMS codes arrive in the phone's 短信 inbox (${DEMO_ACCOUNT.phone}).`,
          '',
          `  Ctrl-C stops; data stays in ${dataDir} (delete the folder to start over).`,
          '',
        ].join('\n'),
      );
    },
    beforeClose(deps) {
      users.save(deps.simulator!);
    },
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
