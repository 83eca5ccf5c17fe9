import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/loadConfig';
import { testEnvironment } from '../support/testEnv';

const KEY_A = 'portal-key-a-0000000000000000000000000';
const KEY_B = 'portal-key-b-1111111111111111111111111';

function problemsOf(PORTAL_API_KEYS: string): string[] {
  try {
    loadConfig(testEnvironment({ PORTAL_API_KEYS }));
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return [];
}
const keysOf = (PORTAL_API_KEYS: string) =>
  loadConfig(testEnvironment({ PORTAL_API_KEYS })).portal.keys.map((key) => ({ ...key, scopes: [...key.scopes] }));

describe('config: PORTAL_API_KEYS, named keys with scopes', () => {
  it('reads name:scope+scope:display name:key entries, next to bare keys (the portal "portal" with every scope)', () => {
    assert.deepEqual(keysOf(`etax:login+bindings:福建省网上税务局:${KEY_A}, ${KEY_B}`), [
      { name: 'etax', displayName: '福建省网上税务局', scopes: ['login', 'bindings'], secret: KEY_A },
      {
        name: 'portal',
        displayName: '网上税务局',
        scopes: ['login', 'bindings', 'authenticate', 'password'],
        secret: KEY_B,
      },
    ]);
  });

  it('keeps colons inside a named key, and lets one portal hold several keys with the same scopes (rotation)', () => {
    const keys = keysOf(`etax:login:网上税务局:${KEY_A}:x,etax:login:网上税务局:${KEY_B}`);
    assert.deepEqual(
      keys.map((key) => [key.name, key.secret]),
      [
        ['etax', `${KEY_A}:x`],
        ['etax', KEY_B],
      ],
    );
  });

  it('refuses each malformed part with a line that names the entry and the rule, never the key', () => {
    const problems = problemsOf(
      [
        `Etax:login:网上税务局:${KEY_A}`,
        `etax:logn+bindings:网上税务局:${KEY_B}`,
        `app:login:${'很'.repeat(21)}:${KEY_A}x`,
        'app2:login:短:short-key',
        `app3:login+login:掌上:${KEY_B}y`,
        `app4:login:${KEY_B}z`,
        'bare-but-too-short',
      ].join(','),
    );
    assert.deepEqual(problems, [
      'PORTAL_API_KEYS entry 1: its name must be 1-32 of a-z 0-9 - starting with a letter',
      'PORTAL_API_KEYS entry 2 (etax): its scopes must be one or more of login, bindings, authenticate, password joined by +, each once',
      'PORTAL_API_KEYS entry 3 (app): its display name must be 1-20 characters without spaces, colons or commas',
      'PORTAL_API_KEYS entry 4 (app2): its key must be at least 32 printable ASCII characters without spaces or commas',
      'PORTAL_API_KEYS entry 5 (app3): its scopes must be one or more of login, bindings, authenticate, password joined by +, each once',
      'PORTAL_API_KEYS entry 6 must be name:scope+scope:display name:key (or a bare key without colons)',
      'PORTAL_API_KEYS entry 7: its key must be at least 32 printable ASCII characters without spaces or commas',
    ]);
    for (const problem of problems) assert.ok(!problem.includes('portal-key') && !problem.includes('short-key'));
  });

  it('refuses a key listed twice, and one portal name with two sets of scopes or display names', () => {
    assert.deepEqual(problemsOf(`a:login:甲:${KEY_A},b:login:乙:${KEY_A}`), [
      'PORTAL_API_KEYS lists the same key twice',
    ]);
    assert.deepEqual(problemsOf(`a:login:甲:${KEY_A},a:login+bindings:甲:${KEY_B}`), [
      'PORTAL_API_KEYS: the keys named a must have the same display name and scopes (several keys of one portal are for rotating it)',
    ]);
  });

  it('refuses spaces inside an entry (display names included), naming the format', () => {
    assert.deepEqual(problemsOf(`etax:login:网上 税务局:${KEY_A}`), [
      'PORTAL_API_KEYS must be comma-separated entries, each name:scope+scope:display name:key or a bare key, without spaces inside an entry',
    ]);
  });
});
