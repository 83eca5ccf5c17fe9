import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FACEID_SANDBOX_PATH } from '../../dependencies';

/** The 模板ID of the demo's login notice (any id: the sandbox's WeChat is given the template). */
export const DEMO_LOGIN_NOTICE_TEMPLATE = 'DemoLoginNoticeTemplate01';

interface DemoSecrets {
  SESSION_SECRET: string;
  DATA_KEY: string;
  PORTAL_API_KEYS: string;
}

/**
 * The embedded demo's configuration: SQLite under data/, in-memory stores, the WeChat simulator,
 * the 实名核身 stand-in, the reference portal. Secrets are made once and kept in data/demo-secrets.json, because the
 * SQLite file's ID and phone numbers stay readable only with the same DATA_KEY. Variables already
 * set in the environment win (PORT in particular).
 */
export function demoEnvironment(dataDir: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  mkdirSync(dataDir, { recursive: true });
  const secretsFile = path.join(dataDir, 'demo-secrets.json');
  let secrets: DemoSecrets;
  if (existsSync(secretsFile)) {
    secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as DemoSecrets;
  } else {
    secrets = {
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      DATA_KEY: randomBytes(32).toString('base64'),
      PORTAL_API_KEYS: `demo-portal-${randomBytes(24).toString('base64url')}`,
    };
    writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  const port = env.PORT ?? '3000';
  const publicUrl = env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
  const simulator = `${publicUrl}/sandbox/wechat`;
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    WECHAT_APPID: 'wxd0e0000000000001',
    WECHAT_APPSECRET: 'demoappsecret0000000000000000001',
    WECHAT_TOKEN: 'demotoken',
    WECHAT_ENCODING_AES_KEY: 'DemoEncodingAesKey0000000000000000000000000',
    WECHAT_API_BASE: simulator,
    WECHAT_OPEN_BASE: simulator,
    WECHAT_MP_BASE: simulator,
    DATABASE_URL: `sqlite:${path.join(dataDir, 'demo.sqlite')}`,
    REDIS_URL: 'memory',
    PORTAL_ORIGINS: new URL(publicUrl).origin,
    PORTAL_DEMO: '1',
    SANDBOX: '1',
    SMS_PROVIDER: 'console',
    // 实名注册 asks the sandbox's 实名核身 stand-in through the real SDK client: the demo's people verify.
    IDENTITY_VERIFIER: 'tencentcloud',
    TENCENTCLOUD_SECRET_ID: 'AKIDdemo0000000000000000000000000000',
    TENCENTCLOUD_SECRET_KEY: 'demo-faceid-secret-key',
    TENCENTCLOUD_FACEID_URL: `${publicUrl}${FACEID_SANDBOX_PATH}`,
    // The phone shows a login notice after each login (the simulator has this template).
    WECHAT_TEMPLATE_LOGIN_NOTICE: DEMO_LOGIN_NOTICE_TEMPLATE,
    ...secrets,
    ...env,
    PORT: port,
    PUBLIC_URL: publicUrl,
  };
}
