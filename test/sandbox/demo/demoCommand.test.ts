import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_ACCOUNT } from '../../../src/sandbox/demo/seedDemoAccount';

const root = path.resolve(__dirname, '../../..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts `npm run demo`'s entry point and resolves once it printed its URLs. */
function startDemo(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: string }> {
  return new Promise((resolve, reject) => {
    // Only what a newcomer's shell would have: no MySQL or Redis settings at all.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('/sandbox/phone')) resolve({ child, output });
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe('sandbox: npm run demo (SQLite, in-memory stores, simulator; no MySQL or Redis)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'etax-demo-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves the portal and the phone, prints the demo account, and keeps its data across a restart', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const first = await startDemo({ PORT: String(port), DEMO_DATA_DIR: dataDir });
    assert.match(first.output, new RegExp(`${url}/portal/login`));
    assert.match(first.output, new RegExp(`${url}/sandbox/phone`));
    assert.ok(first.output.includes(DEMO_ACCOUNT.password));
    assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), {
      status: 'ready',
      checks: { mysql: 'ok', redis: 'memory' },
    });
    for (const page of ['/portal/login', '/sandbox/phone'])
      assert.equal((await fetch(`${url}${page}`)).status, 200, page);
    const secrets = (await import('node:fs')).readFileSync(path.join(dataDir, 'demo-secrets.json'), 'utf8');
    const key = (JSON.parse(secrets) as { PORTAL_API_KEYS: string }).PORTAL_API_KEYS;
    const authenticate = () =>
      fetch(`${url}/api/accounts/authenticate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ loginName: DEMO_ACCOUNT.phone, password: DEMO_ACCOUNT.password }),
      });
    assert.equal((await authenticate()).status, 200);
    assert.equal(await stop(first.child), 0);

    const second = await startDemo({ PORT: String(port), DEMO_DATA_DIR: dataDir });
    try {
      assert.equal((await authenticate()).status, 200, 'the seeded account survived the restart, still decryptable');
    } finally {
      assert.equal(await stop(second.child), 0);
    }
  });
});
