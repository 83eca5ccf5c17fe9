import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { World } from './support/world';

/** The share of 1-bits over all the bytes of `values`: close to one half for random values. */
function oneBits(values: Buffer[]): number {
  let ones = 0;
  let bits = 0;
  for (const value of values) {
    for (const byte of value) {
      for (let b = 0; b < 8; b++) ones += (byte >> b) & 1;
      bits += 8;
    }
  }
  return ones / bits;
}

function assertRandom(what: string, values: Buffer[], minBits: number) {
  assert.equal(new Set(values.map((v) => v.toString('hex'))).size, values.length, `${what}: all distinct`);
  for (const value of values)
    assert.ok(value.length * 8 >= minBits, `${what}: ${value.length * 8} random bits ≥ ${minBits}`);
  const share = oneBits(values);
  assert.ok(share > 0.46 && share < 0.54, `${what}: bits look random (${share.toFixed(3)} ones)`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sourceFiles(file) : file.endsWith('.ts') ? [file] : [];
  });
}

/**
 * ASVS V11.5.1 (and V7.2.3 for session tokens): every value meant to be unguessable comes from a
 * CSPRNG with at least 128 random bits. By design two are shorter, and say why (docs/security.md):
 * SMS codes are 6 digits (what a person types; V6.5.4 asks 20 bits of an out-of-band code, and
 * V6.6.3 limits the guesses: authentication.test.ts) and image captcha answers are 4 characters
 * (single use, one guess each).
 */
describe('security: random tokens (ASVS V11.5.1, V7.2.3)', () => {
  const w = new World();
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  it('V11.5.1: H5 session ids, CSRF tokens and OAuth states carry ≥128 random bits from a CSPRNG (sessions 256, CSRF 256, state 128)', async () => {
    const sessions: Buffer[] = [];
    const csrfs: Buffer[] = [];
    const states: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const first = await request(w.t.app.callback()).get('/h5/bind');
      states.push(Buffer.from(new URL(first.headers.location!).searchParams.get('state')!, 'hex'));
      const user = w.newUser(`用户${i}`);
      const page = await user.open('/h5/bind');
      const id = user.sessionCookie()!.split('=')[1]!;
      assert.match(id, /^[A-Za-z0-9_-]{43}$/);
      sessions.push(Buffer.from(id, 'base64url'));
      csrfs.push(Buffer.from(user.csrfToken(page.text), 'base64url'));
    }
    assertRandom('session ids', sessions, 256);
    assertRandom('CSRF tokens', csrfs, 256);
    assertRandom('OAuth states', states, 128);
  });

  it('V11.5.1: a login ticket\'s ticketId, sceneStr and confirmToken are three different secrets, each with 128 random bits after the 64-bit slot tag (also loginFlow "three distinct identifiers")', async () => {
    const randomParts: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const ticket = await w.createTicket();
      const hash = await w.t.deps.redis!.hGetAll(w.t.deps.keys.key('login', `{${ticket.ticketId.slice(0, 16)}}`));
      const ids = [hash.tid!, hash.scene!.replace(/^login_/, ''), hash.ct!];
      for (const id of ids) assert.match(id, /^[0-9a-f]{48}$/);
      assert.equal(new Set(ids).size, 3);
      assert.equal(new Set(ids.map((id) => id.slice(0, 16))).size, 1, 'one shared tag');
      randomParts.push(...ids.map((id) => Buffer.from(id.slice(16), 'hex')));
    }
    assertRandom('ticket secrets (after the tag)', randomParts, 128);
  });

  it("V11.5.1: SMS codes are 6 CSPRNG digits by design (V6.5.4: 20 bits for a code a person types), guarded by V6.6.3's limits", async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const phone = (await w.quickAccount()).phone;
      const sent = await w.t.deps.smsCodes.send({
        phone,
        purpose: 'bind',
        ip: `198.51.100.${i}`,
        requester: 'o-sms-tester',
      });
      assert.ok(sent.ok);
      const code = w.smsCodeFor(phone)!;
      assert.match(code, /^\d{6}$/);
      codes.add(code);
    }
    assert.ok(codes.size >= 19, 'codes do not repeat');
  });

  it("V11.5.1: nothing in src/ draws security values from Math.random (svg-captcha's text is drawn with crypto.randomInt)", () => {
    const root = path.resolve(__dirname, '../../src');
    const offenders = sourceFiles(root).filter((file) =>
      /Math\.random\s*\(/.test(readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')),
    );
    assert.deepEqual(
      offenders.map((f) => path.relative(root, f)),
      [],
    );
  });
});
