import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** This process's build: bench/.build/<pid>, so concurrent bench invocations never share (or delete) each other's. */
export const BUILD_DIR = path.join(PROJECT_ROOT, 'bench', '.build', String(process.pid));

/**
 * Compiles the servers the bench starts (product, simulator, baselines, poll clients) with tsc, the
 * compiler of `npm run build`, so they run as production does: plain `node` on compiled JS, without
 * tsx's loader hooks (which make every runtime require() — mysql2 does one per query — much dearer).
 * Type errors elsewhere in a work-in-progress tree do not stop the emit; a missing output does.
 */
export function buildServers(log: (message: string) => void): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      '-p',
      path.join(PROJECT_ROOT, 'bench', 'tsconfig.build.json'),
      '--outDir',
      BUILD_DIR,
    ],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  const expected = [
    'productServer',
    'simulatorServer',
    'pollClients',
    'stages',
    'baselines/coWechatPlain',
    'baselines/coWechatAes',
    'baselines/koaJson',
    'baselines/koaRedisRead',
    'baselines/heldRequests',
  ].map((f) => compiledPath(`bench/${f}.ts`));
  const missing = expected.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(
      `tsc did not emit ${missing.join(', ')}:\n${(result.stdout ?? '').slice(0, 3000)}${result.error ? String(result.error) : ''}`,
    );
  }
  if (result.status !== 0) {
    const errors = (result.stdout ?? '').split('\n').filter((l) => l.includes('error TS'));
    log(`tsc reported ${errors.length} type error(s) (emitted anyway); first: ${errors[0] ?? '?'}`);
  }
  log(
    `compiled the servers with tsc in ${((Date.now() - started) / 1000).toFixed(1)} s into ${path.relative(PROJECT_ROOT, BUILD_DIR)}`,
  );
}

/** Removes this process's build (at the end of a run). */
export function removeBuild(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
}

/** Where tsc put the JavaScript of a project .ts file. */
export function compiledPath(file: string): string {
  return path.join(BUILD_DIR, file.replace(/\.ts$/, '.js'));
}
