import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/loadConfig';
import { PushDriver, type PushMode } from '../sandbox/PushDriver';

const USAGE = `usage: npm run sandbox:push -- <command> [--mode plain|compat|safe] [--openid OPENID] [--url URL]
commands:
  verify                 the URL-verification GET WeChat sends when the server URL is saved
  subscribe [SCENE]      follow (with a scene: a scan of a parametric QR code by a new follower)
  scan SCENE             a follower scans a parametric QR code
  unsubscribe            unfollow
  click KEY              a menu click
  text CONTENT           a text message`;

/**
 * Plays WeChat against a running server: signs (and in compat/safe mode encrypts) a push with the
 * configured token and key, POSTs it to /wechat and prints the decoded reply.
 */
async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { mode: { type: 'string', default: 'plain' }, openid: { type: 'string' }, url: { type: 'string' } },
  });
  const config = loadConfig(process.env);
  const mode = values.mode as PushMode;
  if (!['plain', 'compat', 'safe'].includes(mode)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const driver = new PushDriver({
    token: config.wechat.token,
    appId: config.wechat.appId,
    mode,
    ...(config.wechat.encodingAesKeys[0] ? { encodingAesKey: config.wechat.encodingAesKeys[0] } : {}),
  });
  const endpoint = values.url ?? `${config.publicUrl}/wechat`;
  const openid = values.openid ?? 'oSANDBOX0000000000000000000001';
  const [command, argument] = positionals;

  if (command === 'verify') {
    const echostr = String(Date.now());
    const response = await fetch(`${endpoint}?${new URLSearchParams(driver.verification(echostr)).toString()}`);
    const body = await response.text();
    process.stdout.write(
      `HTTP ${response.status}: ${body}\n${body === echostr ? 'verified: echostr returned verbatim' : 'NOT verified'}\n`,
    );
    return body === echostr ? 0 : 1;
  }
  const xml =
    command === 'subscribe'
      ? driver.event(openid, 'subscribe', argument ? `qrscene_${argument}` : '')
      : command === 'scan' && argument
        ? driver.event(openid, 'SCAN', argument)
        : command === 'unsubscribe'
          ? driver.event(openid, 'unsubscribe')
          : command === 'click' && argument
            ? driver.event(openid, 'CLICK', argument)
            : command === 'text' && argument
              ? driver.textMessage(openid, argument)
              : null;
  if (!xml) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { status, body } = await driver.post(endpoint, driver.sign(xml));
  process.stdout.write(`HTTP ${status} (${mode} mode)\n`);
  if (status !== 200) {
    process.stdout.write(`${body}\n`);
    return 1;
  }
  const reply = await driver.readReply(body);
  process.stdout.write(
    reply
      ? `${reply.MsgType} reply to ${reply.ToUserName}:\n${reply.Content ?? JSON.stringify(reply)}\n`
      : 'success (no reply)\n',
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
