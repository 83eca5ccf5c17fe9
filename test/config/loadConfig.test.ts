import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/loadConfig';
import { envSchema } from '../../src/config/envSchema';
import { productionEnvironment, testEnvironment } from '../support/testEnv';

const schemaNames = Object.keys(envSchema.properties).sort();
const envExamplePath = path.resolve(__dirname, '../../.env.example');

/** The ConfigError thrown by loadConfig for `env`; fails when it loads. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected loadConfig to throw a ConfigError');
}

/** The environment variable names the problem list mentions, in order. */
function named(error: ConfigError): string[] {
  return error.problems.map((p) => /^[A-Z][A-Z0-9_]*/.exec(p)?.[0] ?? p);
}

/** The same environment without the given variables. */
function without(env: NodeJS.ProcessEnv, ...names: string[]): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of names) delete copy[name];
  return copy;
}

const REDIS_ALTERNATIVES = /^REDIS_(SENTINEL|PASSWORD|TLS|CLUSTER|WAIT)/;

describe('config: loadConfig', () => {
  describe('a valid environment', () => {
    it('loads with the right types', () => {
      const env = testEnvironment({
        PORT: '8080',
        WECHAT_MAX_SKEW_SECONDS: '120',
        WECHAT_API_TIMEOUT_MS: '2500',
        LOGIN_TICKET_TTL_SECONDS: '600',
        MAX_BINDINGS_PER_ACCOUNT: '3',
        PORTAL_DEMO: '1',
        TRUST_PROXY: '1',
        PUBLIC_URL: 'https://wx.example.test/base/',
        WECHAT_API_BASE: 'http://127.0.0.1:3000/sandbox/wechat/',
      });
      const config = loadConfig(env);
      assert.equal(config.nodeEnv, 'test');
      assert.equal(config.port, 8080);
      assert.equal(config.wechat.maxSkewSeconds, 120);
      assert.equal(config.wechat.apiTimeoutMs, 2500);
      assert.equal(config.loginTicketTtlSeconds, 600);
      assert.equal(config.maxBindingsPerAccount, 3);
      assert.equal(config.portal.demo, true);
      assert.equal(config.trustProxy, 1);
      assert.equal(config.sandbox, true);
      assert.equal(config.logLevel, 'silent');
      // Trailing slashes are dropped so paths can be appended.
      assert.equal(config.publicUrl, 'https://wx.example.test/base');
      assert.equal(config.wechat.apiBase, 'http://127.0.0.1:3000/sandbox/wechat');
      assert.equal(config.wechat.appId, env.WECHAT_APPID);
      assert.equal(config.wechat.appSecret, env.WECHAT_APPSECRET);
      assert.equal(config.wechat.token, env.WECHAT_TOKEN);
      assert.equal(config.databaseUrl, env.DATABASE_URL);
      assert.deepEqual(config.redis, { kind: 'node', url: env.REDIS_URL });
      assert.deepEqual(config.redisReplicaAcks, { replicas: 0, timeoutMs: 200 });
      assert.equal(config.redisKeyPrefix, env.REDIS_KEY_PREFIX);
      assert.equal(config.sessionSecret, env.SESSION_SECRET);
      assert.deepEqual(config.sms, { provider: 'console' });
    });

    it('does not change the environment it reads', () => {
      const env = testEnvironment({ PORT: '', SMS_PROVIDER: undefined });
      const before = { ...env };
      loadConfig(env);
      assert.deepEqual(env, before);
    });

    it('applies the defaults', () => {
      const env = without(
        testEnvironment(),
        'PORT',
        'LOG_LEVEL',
        'WECHAT_API_BASE',
        'WECHAT_OPEN_BASE',
        'WECHAT_MP_BASE',
        'WECHAT_MAX_SKEW_SECONDS',
        'WECHAT_API_TIMEOUT_MS',
        'REDIS_KEY_PREFIX',
        'PORTAL_ORIGINS',
        'PORTAL_DEMO',
        'TRUST_PROXY',
        'LOGIN_TICKET_TTL_SECONDS',
        'MAX_BINDINGS_PER_ACCOUNT',
        'SMS_PROVIDER',
        'SANDBOX',
        'WECHAT_ENCODING_AES_KEY',
      );
      const config = loadConfig(env);
      assert.equal(config.port, 3000);
      assert.equal(config.logLevel, 'info');
      assert.equal(config.wechat.apiBase, 'https://api.weixin.qq.com');
      assert.equal(config.wechat.openBase, 'https://open.weixin.qq.com');
      assert.equal(config.wechat.mpBase, 'https://mp.weixin.qq.com');
      assert.equal(config.wechat.maxSkewSeconds, 300);
      assert.equal(config.wechat.apiTimeoutMs, 3000);
      assert.equal(config.redisKeyPrefix, 'etax:');
      assert.deepEqual(config.portal.origins, []);
      assert.equal(config.portal.demo, false);
      assert.equal(config.trustProxy, 0);
      assert.equal(config.loginTicketTtlSeconds, 300);
      assert.equal(config.maxBindingsPerAccount, 1);
      assert.deepEqual(config.sms, { provider: 'console' });
      assert.equal(config.sandbox, false);
      assert.deepEqual(config.wechat.encodingAesKeys, []);
    });

    it('splits the comma lists, trimming blanks', () => {
      const keyA = 'portal-key-a-0000000000000000000000000';
      const keyB = 'portal-key-b-1111111111111111111111111';
      const config = loadConfig(
        testEnvironment({
          PORTAL_API_KEYS: `${keyA},${keyB}`,
          PORTAL_ORIGINS: 'https://portal.example.test,http://127.0.0.1:8080',
        }),
      );
      assert.deepEqual(config.portal.apiKeys, [keyA, keyB]);
      assert.deepEqual(config.portal.origins, ['https://portal.example.test', 'http://127.0.0.1:8080']);
    });

    it('reads WECHAT_MESSAGE_MODE: compatible by default with an EncodingAESKey, plain without; compatible and safe need the key', () => {
      assert.equal(loadConfig(testEnvironment()).wechat.messageMode, 'compatible');
      assert.equal(loadConfig(testEnvironment({ WECHAT_ENCODING_AES_KEY: '' })).wechat.messageMode, 'plain');
      assert.equal(loadConfig(testEnvironment({ WECHAT_MESSAGE_MODE: 'safe' })).wechat.messageMode, 'safe');
      assert.deepEqual(
        configError(testEnvironment({ WECHAT_MESSAGE_MODE: 'safe', WECHAT_ENCODING_AES_KEY: '' })).problems,
        ['WECHAT_ENCODING_AES_KEY is required when WECHAT_MESSAGE_MODE=safe'],
      );
      assert.deepEqual(named(configError(testEnvironment({ WECHAT_MESSAGE_MODE: 'secure' }))), ['WECHAT_MESSAGE_MODE']);
    });

    it('decodes DATA_KEY to 32 bytes', () => {
      const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
      const config = loadConfig(testEnvironment({ DATA_KEY: key.toString('base64') }));
      assert.ok(Buffer.isBuffer(config.dataKey));
      assert.equal(config.dataKey.length, 32);
      assert.ok(config.dataKey.equals(key));
    });

    it('lists the EncodingAESKeys current first, then previous', () => {
      const current = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
      const previous = 'zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT';
      const both = loadConfig(
        testEnvironment({ WECHAT_ENCODING_AES_KEY: current, WECHAT_ENCODING_AES_KEY_PREVIOUS: previous }),
      );
      assert.deepEqual(both.wechat.encodingAesKeys, [current, previous]);
      const one = loadConfig(testEnvironment({ WECHAT_ENCODING_AES_KEY: current }));
      assert.deepEqual(one.wechat.encodingAesKeys, [current]);
    });

    it('builds the tencentcloud settings when all its keys are given, region defaulting to ap-guangzhou', () => {
      const config = loadConfig(
        testEnvironment({
          SMS_PROVIDER: 'tencentcloud',
          TENCENTCLOUD_SECRET_ID: 'AKIDexample',
          TENCENTCLOUD_SECRET_KEY: 'secret-key-example',
          TENCENTCLOUD_SMS_SDK_APP_ID: '1400000000',
          TENCENTCLOUD_SMS_SIGN_NAME: '福建税务',
          TENCENTCLOUD_SMS_TEMPLATE_ID: '123456',
          TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS: '123457',
        }),
      );
      assert.deepEqual(config.sms, {
        provider: 'tencentcloud',
        tencentcloud: {
          secretId: 'AKIDexample',
          secretKey: 'secret-key-example',
          region: 'ap-guangzhou',
          sdkAppId: '1400000000',
          signName: '福建税务',
          templateId: '123456',
          accountExistsTemplateId: '123457',
        },
      });
    });
  });

  describe('an invalid environment', () => {
    it('refuses numbers that are not plain digits instead of coercing them', () => {
      for (const value of [' ', '0x1F', '1e3', '-1', '12abc']) {
        const error = configError(testEnvironment({ PORT: value }));
        assert.deepEqual(error.problems, ['PORT must be a whole number'], `PORT=${JSON.stringify(value)}`);
      }
    });

    it('refuses a previous EncodingAESKey without a current one', () => {
      const error = configError(
        testEnvironment({ WECHAT_ENCODING_AES_KEY: undefined, WECHAT_ENCODING_AES_KEY_PREVIOUS: 'b'.repeat(43) }),
      );
      assert.deepEqual(error.problems, [
        'WECHAT_ENCODING_AES_KEY is required when WECHAT_ENCODING_AES_KEY_PREVIOUS is set',
      ]);
    });

    it('says in words what a malformed value must look like', () => {
      const error = configError(testEnvironment({ WECHAT_APPID: 'nope', DATA_KEY: 'short' }));
      assert.deepEqual(error.problems.sort(), [
        'DATA_KEY must be 32 bytes in base64 (44 characters ending in =; e.g. openssl rand -base64 32)',
        'WECHAT_APPID must be "wx" followed by 16 letters or digits',
      ]);
    });

    it('accepts spaces after the commas of PORTAL_API_KEYS', () => {
      const keys = `${'a'.repeat(32)}, ${'b'.repeat(32)}`;
      assert.deepEqual(loadConfig(testEnvironment({ PORTAL_API_KEYS: keys })).portal.apiKeys, [
        'a'.repeat(32),
        'b'.repeat(32),
      ]);
    });

    it('lists every problem at once, one per variable, each named', () => {
      const error = configError(
        testEnvironment({
          PORT: 'eighty',
          PUBLIC_URL: 'ftp://example.test',
          LOG_LEVEL: 'verbose',
          WECHAT_APPID: 'not-an-appid',
          WECHAT_TOKEN: 'no',
          WECHAT_ENCODING_AES_KEY: 'too-short',
          WECHAT_MAX_SKEW_SECONDS: '0',
          REDIS_URL: 'http://127.0.0.1:6379',
          PORTAL_ORIGINS: 'https://portal.example.test/path',
          TRUST_PROXY: 'yes',
          LOGIN_TICKET_TTL_SECONDS: '5',
          MAX_BINDINGS_PER_ACCOUNT: '1.5',
          SMS_PROVIDER: 'carrier-pigeon',
          DATABASE_URL: undefined,
        }),
      );
      const expected = [
        'PORT',
        'PUBLIC_URL',
        'LOG_LEVEL',
        'WECHAT_APPID',
        'WECHAT_TOKEN',
        'WECHAT_ENCODING_AES_KEY',
        'WECHAT_MAX_SKEW_SECONDS',
        'REDIS_URL',
        'PORTAL_ORIGINS',
        'TRUST_PROXY',
        'LOGIN_TICKET_TTL_SECONDS',
        'MAX_BINDINGS_PER_ACCOUNT',
        'SMS_PROVIDER',
        'DATABASE_URL',
      ];
      assert.deepEqual([...named(error)].sort(), [...expected].sort(), error.message);
      for (const name of expected) assert.match(error.message, new RegExp(`\\b${name}\\b`));
      assert.match(error.message, /DATABASE_URL is required/);
      assert.equal(error.name, 'ConfigError');
    });

    it('names every missing required variable', () => {
      // Outside production, so only the missing variables are listed.
      const error = configError({ NODE_ENV: 'test' });
      // REDIS_URL is required unless a Sentinel or Cluster setting stands in for it.
      assert.deepEqual([...named(error)].sort(), [...envSchema.required, 'REDIS_URL'].sort());
      for (const problem of error.problems) assert.match(problem, /^[A-Z_]+ is required$/);
    });

    it('never echoes a rejected secret', () => {
      const secrets = {
        SESSION_SECRET: 'Shh-Session-7Q4',
        WECHAT_APPSECRET: 'Shh!AppSecret#9Z',
        DATA_KEY: 'ShhDataKey5555notbase64!!',
        PORTAL_API_KEYS: 'ShhPortalKey-77',
        WECHAT_TOKEN: 'Shh Token 31',
        WECHAT_ENCODING_AES_KEY: 'ShhAesKey0123',
        WECHAT_ENCODING_AES_KEY_PREVIOUS: 'ShhPreviousAesKey-0123456789012345678901234',
        DATABASE_URL: 'postgres://admin:ShhDbPassw0rd@db.internal/etax',
        REDIS_URL: 'http://:ShhRedisPassw0rd@cache.internal:6379',
      };
      const error = configError(testEnvironment(secrets));
      assert.deepEqual([...named(error)].sort(), Object.keys(secrets).sort());
      const rendered = `${error.message}\n${error.stack ?? ''}\n${JSON.stringify(error)}\n${error.problems.join('\n')}`;
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!rendered.includes(value), `${name}'s value is echoed:\n${rendered}`);
      }
      assert.ok(!/Shh/.test(rendered), `a fragment of a secret is echoed:\n${rendered}`);
    });

    it('refuses SANDBOX=1 with NODE_ENV=production', () => {
      const error = configError(productionEnvironment({ SANDBOX: '1' }));
      assert.equal(error.problems.length, 1, error.message);
      assert.match(error.problems[0]!, /SANDBOX=1/);
      assert.match(error.problems[0]!, /NODE_ENV=production/);
      // The same production environment without the sandbox loads.
      assert.equal(loadConfig(productionEnvironment()).sandbox, false);
    });

    it('refuses the console SMS sender and a plain-http PUBLIC_URL in production', () => {
      const error = configError(
        productionEnvironment({
          PUBLIC_URL: 'http://wx.example.test',
          SMS_PROVIDER: 'console',
          IDENTITY_VERIFIER: 'format-only',
        }),
      );
      assert.deepEqual([...named(error)].sort(), ['IDENTITY_VERIFIER', 'PUBLIC_URL', 'SMS_PROVIDER']);
    });

    it('refuses the format-only identity verifier in production, saying why', () => {
      const error = configError(productionEnvironment({ IDENTITY_VERIFIER: 'format-only' }));
      const problem = error.problems.find((p) => p.startsWith('IDENTITY_VERIFIER'));
      assert.equal(
        problem,
        "IDENTITY_VERIFIER=format-only lets anyone register under another person's name and ID number; use tencentcloud when NODE_ENV=production",
      );
    });

    it('defaults to the format-only identity verifier outside production', () => {
      const config = loadConfig(testEnvironment({}));
      assert.equal(config.identity.verifier, 'format-only');
      assert.equal(config.identity.tencentcloud, undefined);
    });

    it('reads the tencentcloud identity verifier: mode, region, sandbox URL, timeout and daily limits', () => {
      const config = loadConfig(
        testEnvironment({
          IDENTITY_VERIFIER: 'tencentcloud',
          TENCENTCLOUD_SECRET_ID: 'AKIDexample',
          TENCENTCLOUD_SECRET_KEY: 'secret-key-example',
          TENCENTCLOUD_FACEID_MODE: 'two-element',
          TENCENTCLOUD_FACEID_URL: 'http://127.0.0.1:3000/sandbox/faceid/',
          IDENTITY_VERIFIER_TIMEOUT_MS: '2000',
          IDENTITY_VERIFICATIONS_PER_PHONE_PER_DAY: '3',
        }),
      );
      assert.deepEqual(config.identity, {
        verifier: 'tencentcloud',
        limits: { perOpenid: 5, perPhone: 3, perIp: 50 },
        tencentcloud: {
          secretId: 'AKIDexample',
          secretKey: 'secret-key-example',
          region: 'ap-guangzhou',
          mode: 'two-element',
          endpoint: '127.0.0.1:3000/sandbox/faceid',
          protocol: 'http://',
          timeoutMs: 2000,
        },
      });
    });

    it('refuses IDENTITY_VERIFIER=tencentcloud without its keys, a bad mode or a timeout beyond 10 s', () => {
      const error = configError(
        testEnvironment({
          IDENTITY_VERIFIER: 'tencentcloud',
          TENCENTCLOUD_FACEID_MODE: 'face',
          IDENTITY_VERIFIER_TIMEOUT_MS: '60000',
          TENCENTCLOUD_FACEID_URL: 'http://127.0.0.1:3000/path?query',
        }),
      );
      assert.deepEqual(
        [...named(error)].sort(),
        [
          'IDENTITY_VERIFIER_TIMEOUT_MS',
          'TENCENTCLOUD_FACEID_MODE',
          'TENCENTCLOUD_FACEID_URL',
          'TENCENTCLOUD_SECRET_ID',
          'TENCENTCLOUD_SECRET_KEY',
        ],
        error.message,
      );
      assert.ok(error.problems.includes('TENCENTCLOUD_SECRET_ID is required when IDENTITY_VERIFIER=tencentcloud'));
    });

    it('refuses SMS_PROVIDER=tencentcloud without its keys, naming each', () => {
      const error = configError(testEnvironment({ SMS_PROVIDER: 'tencentcloud' }));
      const required = [
        'TENCENTCLOUD_SECRET_ID',
        'TENCENTCLOUD_SECRET_KEY',
        'TENCENTCLOUD_SMS_SDK_APP_ID',
        'TENCENTCLOUD_SMS_SIGN_NAME',
        'TENCENTCLOUD_SMS_TEMPLATE_ID',
        'TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS',
      ];
      assert.deepEqual([...named(error)].sort(), [...required].sort(), error.message);
      for (const name of required) assert.ok(error.problems.includes(`${name} is required`), error.message);
      // The region has a default and is not required.
      assert.ok(!error.message.includes('TENCENTCLOUD_SMS_REGION'));
    });

    it('names only the tencentcloud keys that are missing', () => {
      const error = configError(
        testEnvironment({
          SMS_PROVIDER: 'tencentcloud',
          TENCENTCLOUD_SECRET_ID: 'AKIDexample',
          TENCENTCLOUD_SECRET_KEY: 'secret-key-example',
          TENCENTCLOUD_SMS_SDK_APP_ID: '1400000000',
        }),
      );
      assert.deepEqual([...named(error)].sort(), [
        'TENCENTCLOUD_SMS_SIGN_NAME',
        'TENCENTCLOUD_SMS_TEMPLATE_ID',
        'TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS',
      ]);
    });

    it('reads the login notice: off without WECHAT_TEMPLATE_LOGIN_NOTICE, else its template and keyword of each fact', () => {
      assert.equal(loadConfig(testEnvironment()).loginNotice, null);
      const config = loadConfig(
        testEnvironment({
          WECHAT_TEMPLATE_LOGIN_NOTICE: 'Xy_Tpl-01',
          WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS: 'time=time2, method=phrase1,region=thing9',
          WECHAT_TEMPLATE_SENDS_PER_SECOND: '5',
        }),
      );
      assert.deepEqual(config.loginNotice, {
        templateId: 'Xy_Tpl-01',
        fields: { time: 'time2', method: 'phrase1', region: 'thing9' },
      });
      assert.deepEqual(config.templateSends, { perSecond: 5, dailyBudget: 50000 });
    });

    it('refuses a login notice field mapping naming an unknown fact or a malformed keyword', () => {
      for (const fields of ['time=time1,where=thing2', 'time=1time', 'time:time1', 'time=time1,']) {
        const error = configError(testEnvironment({ WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS: fields }));
        assert.deepEqual(named(error), ['WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS'], fields);
      }
    });

    it('counts empty variables as unset', () => {
      // An empty optional variable takes its default ...
      const config = loadConfig(
        testEnvironment({
          PORT: '',
          WECHAT_MAX_SKEW_SECONDS: '',
          WECHAT_API_BASE: '',
          PORTAL_ORIGINS: '',
          WECHAT_ENCODING_AES_KEY_PREVIOUS: '',
          SMS_PROVIDER: '',
          SANDBOX: '',
        }),
      );
      assert.equal(config.port, 3000);
      assert.equal(config.wechat.maxSkewSeconds, 300);
      assert.equal(config.wechat.apiBase, 'https://api.weixin.qq.com');
      assert.deepEqual(config.portal.origins, []);
      assert.equal(config.wechat.encodingAesKeys.length, 1);
      assert.deepEqual(config.sms, { provider: 'console' });
      assert.equal(config.sandbox, false);
      // ... and an empty required one is missing, not malformed.
      const error = configError(testEnvironment({ SESSION_SECRET: '', DATA_KEY: '' }));
      assert.deepEqual([...error.problems].sort(), ['DATA_KEY is required', 'SESSION_SECRET is required']);
    });
  });

  describe('.env.example', () => {
    const text = readFileSync(envExamplePath, 'utf8');
    const lines = text.split(/\r?\n/);
    const variableLine = /^(?:#\s*)?([A-Z][A-Z0-9_]*)=/;

    it('loads without problems', () => {
      const parsed = parseEnv(text);
      const config = loadConfig(parsed);
      assert.equal(config.nodeEnv, 'development');
      assert.equal(config.port, 3000);
      assert.equal(config.sandbox, true);
      assert.equal(config.wechat.apiBase, `${config.publicUrl}/sandbox/wechat`);
      assert.equal(config.wechat.openBase, `${config.publicUrl}/sandbox/wechat`);
      assert.equal(config.wechat.mpBase, `${config.publicUrl}/sandbox/wechat`);
      assert.equal(config.dataKey.length, 32);
      assert.deepEqual(
        config.wechat.encodingAesKeys.map((k) => k.length),
        [43],
      );
      assert.equal(config.sms.provider, 'console');
    });

    it('lists exactly the variables of the schema, the optional TENCENTCLOUD_* and Redis Sentinel/Cluster ones commented out', () => {
      const active = Object.keys(parseEnv(text));
      const commented = lines.flatMap((line) => {
        const match = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
        return match ? [match[1]!] : [];
      });
      assert.deepEqual([...active, ...commented].sort(), schemaNames);
      assert.equal(
        new Set([...active, ...commented]).size,
        active.length + commented.length,
        'a variable is listed twice',
      );
      assert.deepEqual(
        [...commented].sort(),
        schemaNames.filter((name) => name.startsWith('TENCENTCLOUD_') || REDIS_ALTERNATIVES.test(name)),
      );
    });

    it('precedes each variable with a comment line', () => {
      lines.forEach((line, i) => {
        const match = variableLine.exec(line);
        if (!match) return;
        const previous = lines[i - 1] ?? '';
        assert.ok(
          previous.startsWith('#') && !variableLine.test(previous) && previous.replace(/^#\s*/, '').length > 0,
          `${match[1]} (line ${i + 1}) is not preceded by a comment line`,
        );
      });
    });
  });
});
