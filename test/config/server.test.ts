import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const projectRoot = path.resolve(__dirname, '../..');
const serverEntry = path.join(projectRoot, 'src', 'server.ts');
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node --import tsx src/server.ts` with exactly `env` (plus PATH). The working directory is an
 * empty temporary one, so a developer's `.env` in the project (which server.ts reads from the working
 * directory) cannot fill in what the test leaves out.
 */
async function runServer(env: Record<string, string>): Promise<Outcome> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'etax-server-test-'));
  try {
    const child = spawn(process.execPath, ['--import', tsxLoader, serverEntry], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        TSX_TSCONFIG_PATH: path.join(projectRoot, 'tsconfig.json'),
        ...env,
      },
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
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      // 'close' rather than 'exit': it also waits for stdout and stderr to be drained.
      child.once('close', (c, s) => resolve([c, s]));
    });
    return { code, signal, stdout, stderr };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe('server: start with a broken environment', () => {
  // Distinctive invalid values; none may come back on stdout or stderr.
  const secrets = {
    WECHAT_APPSECRET: 'Leak!AppSecret#42',
    SESSION_SECRET: 'Leak-Session-9',
    DATA_KEY: 'LeakDataKey-not-base64!!',
    PORTAL_API_KEYS: 'LeakPortalKey-7',
    WECHAT_TOKEN: 'Leak Token 8',
  };

  let broken: Outcome;
  let empty: Outcome;

  // Both starts run side by side: each spends its time loading modules, not waiting.
  before(async () => {
    [broken, empty] = await Promise.all([
      runServer({
        ...secrets,
        NODE_ENV: 'production',
        SANDBOX: '1',
        PORT: 'not-a-port',
        PUBLIC_URL: 'https://wx.example.test',
        WECHAT_APPID: 'wx0123456789abcdef',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SMS_PROVIDER: 'tencentcloud',
        // DATABASE_URL left out.
      }),
      runServer({}),
    ]);
  });

  it('exits non-zero, lists every problem on stderr and echoes no secret', () => {
    const outcome = broken;
    const output = `${outcome.stdout}\n${outcome.stderr}`;
    assert.equal(outcome.signal, null, output);
    assert.notEqual(outcome.code, 0, output);
    assert.equal(outcome.code, 1, output);
    assert.match(outcome.stderr, /invalid configuration/, output);
    assert.doesNotMatch(outcome.stderr, /failed to start/, output);

    const problems = outcome.stderr
      .split('\n')
      .filter((line) => line.startsWith('  - '))
      .map((line) => line.slice(4));
    const names = problems.map((p) => /^[A-Z][A-Z0-9_]*/.exec(p)?.[0]).sort();
    assert.deepEqual(
      names,
      [
        'DATABASE_URL',
        'DATA_KEY',
        'IDENTITY_VERIFIER',
        'PORT',
        'PORTAL_API_KEYS',
        'SANDBOX',
        'SESSION_SECRET',
        'TENCENTCLOUD_SECRET_ID',
        'TENCENTCLOUD_SECRET_KEY',
        'TENCENTCLOUD_SMS_SDK_APP_ID',
        'TENCENTCLOUD_SMS_SIGN_NAME',
        'TENCENTCLOUD_SMS_TEMPLATE_ID',
        'TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS',
        'WECHAT_APPSECRET',
        'WECHAT_TOKEN',
      ],
      output,
    );
    assert.ok(problems.includes('DATABASE_URL is required'), output);
    assert.ok(
      problems.some((p) => p.startsWith('SANDBOX=1 is refused when NODE_ENV=production')),
      output,
    );
    assert.ok(
      problems.some((p) => p.startsWith('IDENTITY_VERIFIER=format-only lets anyone register under another person')),
      output,
    );

    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!output.includes(value), `${name}'s value is echoed:\n${output}`);
    }
    assert.doesNotMatch(output, /Leak/, 'a fragment of a secret is echoed');
  });

  it('exits non-zero naming every required variable when the environment is empty', () => {
    const outcome = empty;
    const output = `${outcome.stdout}\n${outcome.stderr}`;
    assert.equal(outcome.code, 1, output);
    for (const name of [
      'PUBLIC_URL',
      'WECHAT_APPID',
      'WECHAT_APPSECRET',
      'WECHAT_TOKEN',
      'DATABASE_URL',
      'REDIS_URL',
      'PORTAL_API_KEYS',
      'SESSION_SECRET',
      'DATA_KEY',
    ]) {
      assert.match(outcome.stderr, new RegExp(`^  - ${name} is required$`, 'm'), output);
    }
  });
});
