import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/loadConfig';
import { demoEnvironment } from '../../src/sandbox/demo/demoEnvironment';
import { productionEnvironment } from '../support/testEnv';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return [];
}

const SECRET_NAMES = [
  'WECHAT_APPSECRET',
  'WECHAT_TOKEN',
  'WECHAT_ENCODING_AES_KEY',
  'PORTAL_API_KEYS',
  'SESSION_SECRET',
  'DATA_KEY',
] as const;

describe('config: production rules unless NODE_ENV says development or test', () => {
  it('loads a production environment with real secrets', () => {
    assert.equal(loadConfig(productionEnvironment()).nodeEnv, 'production');
  });

  it('V13.4.2 an unset NODE_ENV is production: SANDBOX=1 (captcha answers, SMS inbox) is refused', () => {
    const env = productionEnvironment({ NODE_ENV: undefined, SANDBOX: '1' });
    const problems = problemsOf(env);
    assert.deepEqual(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^SANDBOX=1 is refused when NODE_ENV=production/);
  });

  it('V13.4.2 refuses the reference portal (PORTAL_DEMO=1) in production', () => {
    const problems = problemsOf(productionEnvironment({ PORTAL_DEMO: '1' }));
    assert.deepEqual(problems, ['PORTAL_DEMO=1 is refused when NODE_ENV=production (the reference portal is a demo)']);
  });

  it('refuses every placeholder of .env.example in production, one line each, never echoing it', () => {
    const example = parseEnv(readFileSync(path.resolve(__dirname, '../../.env.example'), 'utf8'));
    const placeholders = Object.fromEntries(SECRET_NAMES.map((name) => [name, example[name]]));
    const problems = problemsOf(productionEnvironment(placeholders));
    assert.deepEqual(
      problems.map((p) => /^[A-Z_]+/.exec(p)?.[0]),
      SECRET_NAMES.slice(),
      problems.join('\n'),
    );
    for (const problem of problems) assert.match(problem, /placeholder|guessable/);
    for (const value of Object.values(placeholders)) assert.ok(!problems.join('\n').includes(value!), value);
  });

  it('refuses low-entropy secrets that pass their format: repeats, runs, few distinct characters', () => {
    const weak = {
      WECHAT_TOKEN: 'abababababababababababababababab',
      WECHAT_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      PORTAL_API_KEYS: `${'k'.repeat(4)}Zq9${'k'.repeat(4)}Zq9${'k'.repeat(4)}Zq9${'k'.repeat(4)}Zq9${'k'.repeat(4)}`,
      SESSION_SECRET: 'x7x7x7x7x7x7x7x7x7x7x7x7x7x7x7x7x7x7',
      DATA_KEY: Buffer.alloc(32, 7).toString('base64'),
      METRICS_TOKEN: '111111111111111111111111111111111111',
    };
    const problems = problemsOf(productionEnvironment(weak));
    assert.deepEqual(
      problems.map((p) => /^[A-Z_]+/.exec(p)?.[0]).sort(),
      Object.keys(weak).sort(),
      problems.join('\n'),
    );
  });

  it('refuses one weak portal key among good ones', () => {
    const good = productionEnvironment().PORTAL_API_KEYS!;
    const problems = problemsOf(
      productionEnvironment({ PORTAL_API_KEYS: `${good},change-me-portal-api-key-00000000000000` }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^PORTAL_API_KEYS is a placeholder/);
  });

  it('checks each named portal key on its own and names the weak one', () => {
    const good = productionEnvironment().PORTAL_API_KEYS!;
    const problems = problemsOf(
      productionEnvironment({
        PORTAL_API_KEYS: `etax:login+bindings:网上税务局:${good},mobile:login:掌上办税:${'ab'.repeat(20)}`,
      }),
    );
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^PORTAL_API_KEYS key mobile is guessable/);
    assert.ok(!problems[0]!.includes('abab'), 'the key is never echoed');
  });

  it('keeps the demo and the test environment working: they say development and test', () => {
    const dataDir = path.join(os.tmpdir(), `etax-demo-${process.pid}`);
    try {
      const demo = loadConfig(demoEnvironment(dataDir, {}));
      assert.equal(demo.nodeEnv, 'development');
      assert.equal(demo.portal.demo, true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
