import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MessageCipher } from '../../src/wechat/MessageCipher';
import { wechatSignature } from '../../src/wechat/signature';
import { env, World, type CreatedTicket } from '../security/support/world';
import { injector, type InjectRequest } from './support/inject';
import {
  assertNoRedisChange,
  FUZZ_RUNS,
  FUZZ_SEED,
  FUZZ_TIMEOUT_MS,
  HEAP_GROWTH_LIMIT_BYTES,
  heapAfterGc,
  redisChange,
  StateWatch,
} from './support/stateWatch';

/**
 * Fuzzing `GET|POST /wechat` in process against the real app: random queries
 * and bodies, forged and valid signatures, validly signed random XML in plain and safe mode (and
 * encrypted for another AppID), URL verifications, stale timestamps, other methods.
 *
 * Per case: never a 5xx; a refused request (anything but 200) changes nothing in MySQL or Redis; an
 * accepted push changes only what handling a push may change: its dedupe claim (`push:*` in Redis)
 * and, for a subscribe/unsubscribe, the `subscribed` flag and an audit row. The live login ticket
 * (whose slot tag the forged scenes reuse) never changes. After the run: the tables' checksums are
 * those of the start, and the heap has not grown past HEAP_GROWTH_LIMIT_BYTES.
 */
describe(`fuzz: /wechat (fast-check seed ${FUZZ_SEED}, ${FUZZ_RUNS} cases)`, function () {
  this.timeout(FUZZ_TIMEOUT_MS);
  const w = new World();
  let watch: StateWatch;
  let ticket: CreatedTicket;
  let boundOpenid: string;
  before(async () => {
    await w.start();
    await w.reset();
    const taxpayer = await w.quickAccount();
    boundOpenid = w.sim.createUser('绑定用户').openid;
    await w.insertBinding(boundOpenid, taxpayer);
    ticket = await w.createTicket();
    watch = new StateWatch(w.t.deps);
    watch.start();
  });
  after(async () => {
    watch?.stop();
    await w.stop();
  });

  const token = env.WECHAT_TOKEN!;
  const appId = env.WECHAT_APPID!;
  const key = env.WECHAT_ENCODING_AES_KEY!;
  const ours = new MessageCipher(key, appId);
  const foreign = new MessageCipher(key, 'wx9999999999999999');
  const otherKey = new MessageCipher('ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj', appId);

  // ---- arbitraries ----
  const anyText = fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ']]>',
        '<![CDATA[x]]>',
        '&amp;&lt;',
        '<a><b>',
        '__proto__',
        'constructor',
        '\u0000',
        '\uFFFF',
        '😀'.repeat(30),
      ),
    },
  );
  const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
  const openid = () => fc.oneof(fc.constant(boundOpenid), fc.stringMatching(/^o[A-Za-z0-9_-]{27}$/), anyText);
  // Scenes that share the live ticket's slot tag but not its secret, and others.
  const scene = () =>
    fc.oneof(
      hex(32).map((rest) => `login_${ticket.ticketId.slice(0, 16)}${rest}`),
      hex(48).map((h) => `login_${h}`),
      fc.constantFrom('login_', 'login', 'other_scene', '123'),
      anyText,
    );
  const eventKey = () =>
    fc.oneof(
      scene(),
      scene().map((s) => `qrscene_${s}`),
      fc.constantFrom('MENU_BIND', 'MENU_REGISTER', 'NO_SUCH_KEY', 'https://example.com/'),
      anyText,
    );
  const elementName = fc.oneof(
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'xml', 'Encrypt'),
  );
  const value = (inner: fc.Arbitrary<string>) =>
    fc.record({ text: inner, form: fc.constantFrom('cdata', 'raw', 'nested') });
  // Mostly a sane value in CDATA, as WeChat sends it; sometimes anything, raw or nested.
  const sane = (good: fc.Arbitrary<string>) =>
    fc.oneof(
      { weight: 6, arbitrary: good.map((text) => ({ text, form: 'cdata' })) },
      { weight: 1, arbitrary: value(anyText) },
    );
  const present = <T>(arbitrary: fc.Arbitrary<T>, freq: number) => fc.option(arbitrary, { nil: undefined, freq });
  const pushFields = () =>
    fc.record({
      ToUserName: present(sane(fc.constant('gh_0123456789ab')), 12),
      FromUserName: present(sane(openid()), 12),
      CreateTime: present(
        sane(
          fc.oneof(
            fc.integer({ min: 0, max: 300 }).map((ago) => String(Math.floor(w.clock.now() / 1000) - ago)),
            fc.nat().map(String),
          ),
        ),
        12,
      ),
      MsgType: present(
        sane(
          fc.constantFrom(
            'event',
            'event',
            'event',
            'text',
            'image',
            'voice',
            'video',
            'location',
            'link',
            'shortvideo',
          ),
        ),
        12,
      ),
      Event: present(
        sane(
          fc.constantFrom(
            'subscribe',
            'unsubscribe',
            'SCAN',
            'CLICK',
            'VIEW',
            'LOCATION',
            'TEMPLATESENDJOBFINISH',
            'scancode_push',
          ),
        ),
        3,
      ),
      EventKey: present(sane(eventKey()), 3),
      Content: present(sane(fc.oneof(fc.constantFrom('绑定', '注册', '登录', '解绑', 'hello'), anyText)), 3),
      MsgId: present(sane(fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)), 3),
      Ticket: present(value(anyText), 3),
      extra: fc.array(fc.tuple(elementName, value(anyText)), { maxLength: 3 }),
    });
  const xmlOf = (fields: Record<string, unknown>): string => {
    const render = (name: string, v: { text: string; form: string }) =>
      v.form === 'cdata'
        ? `<${name}><![CDATA[${v.text}]]></${name}>`
        : v.form === 'raw'
          ? `<${name}>${v.text}</${name}>`
          : `<${name}><inner>${v.text}</inner></${name}>`;
    const parts: string[] = [];
    for (const [name, v] of Object.entries(fields)) {
      if (name === 'extra')
        for (const [n, x] of v as [string, { text: string; form: string }][]) parts.push(render(n, x));
      else if (v !== undefined) parts.push(render(name, v as { text: string; form: string }));
    }
    return `<xml>${parts.join('')}</xml>`;
  };
  // A well-formed push, a push cut short, or no XML at all.
  const xmlBody = fc.oneof(
    { weight: 12, arbitrary: pushFields().map(xmlOf) },
    {
      weight: 1,
      arbitrary: fc.tuple(pushFields().map(xmlOf), fc.nat()).map(([xml, at]) => xml.slice(0, at % (xml.length + 1))),
    },
    { weight: 1, arbitrary: anyText },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        '<xml><xml><xml></xml></xml></xml>',
        '<',
        '<xml>',
        `<xml>${'<a>'.repeat(500)}</xml>`,
      ),
    },
  );
  const timestamp = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.integer({ min: -300, max: 300 }).map((skew) => String(Math.floor(w.clock.now() / 1000) + skew)),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 301, max: 10 ** 9 }).map((skew) => String(Math.floor(w.clock.now() / 1000) - skew)),
    },
    { weight: 1, arbitrary: anyText },
  );
  const nonce = fc.oneof(fc.nat().map(String), anyText);
  const method = fc.oneof(
    { weight: 12, arbitrary: fc.constant('POST') },
    { weight: 3, arbitrary: fc.constant('GET') },
    { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
  );
  const contentType = fc.constantFrom(
    'text/xml',
    'application/xml',
    'text/plain',
    'application/json',
    'application/x-www-form-urlencoded',
    '',
  );
  const queryKey = fc.oneof(
    fc.constantFrom('signature', 'timestamp', 'nonce', 'echostr', 'encrypt_type', 'msg_signature', 'openid'),
    anyText,
  );

  type Case = { kind: string; request: InjectRequest };
  const query = (pairs: [string, string][]) =>
    pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const post = (kind: string, m: string, pairs: [string, string][], body: string, type: string): Case => ({
    kind,
    request: {
      method: m,
      url: `/wechat?${query(pairs)}`,
      headers: type ? { 'content-type': type } : {},
      body: m === 'GET' || m === 'HEAD' ? undefined : body,
    },
  });

  const unsigned = fc
    .tuple(method, fc.array(fc.tuple(queryKey, anyText), { maxLength: 7 }), xmlBody, contentType)
    .map(([m, pairs, body, type]) => post('unsigned', m, pairs, body, type));
  const signedPlain = fc
    .tuple(
      timestamp,
      nonce,
      xmlBody,
      contentType,
      fc.option(fc.constantFrom('raw', 'aes', 'AES', 'none', ''), { nil: undefined }),
      fc.constantFrom('lower', 'lower', 'lower', 'lower', 'lower', 'upper', 'truncated', 'repeated'),
    )
    .map(([ts, n, body, type, encryptType, shape]) => {
      const signature = wechatSignature(token, ts, n);
      const sig =
        shape === 'lower'
          ? signature
          : shape === 'upper'
            ? signature.toUpperCase()
            : shape === 'truncated'
              ? signature.slice(0, 39)
              : signature;
      const pairs: [string, string][] = [
        ['signature', sig],
        ['timestamp', ts],
        ['nonce', n],
      ];
      if (shape === 'repeated') pairs.push(['signature', signature]);
      if (encryptType !== undefined) pairs.push(['encrypt_type', encryptType]);
      return post('signed', 'POST', pairs, body, type);
    });
  const signedSafe = fc
    .tuple(
      timestamp,
      nonce,
      xmlBody,
      fc.constantFrom('ours', 'foreign', 'other-key', 'garbage'),
      fc.base64String({ maxLength: 200 }),
      fc.constantFrom('envelope', 'compat', 'no-encrypt-element'),
      fc.boolean(),
    )
    .map(([ts, n, inner, cipher, garbage, envelope, goodSignature]) => {
      const encrypted =
        cipher === 'ours'
          ? ours.encrypt(inner)
          : cipher === 'foreign'
            ? foreign.encrypt(inner)
            : cipher === 'other-key'
              ? otherKey.encrypt(inner)
              : garbage;
      const body =
        envelope === 'envelope'
          ? `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`
          : envelope === 'compat'
            ? inner.replace(/<\/xml>$/, `<Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`)
            : inner;
      const msgSignature = goodSignature
        ? wechatSignature(token, ts, n, encrypted)
        : wechatSignature(token, ts, n, `${encrypted}x`);
      return post(
        'safe',
        'POST',
        [
          ['signature', wechatSignature(token, ts, n)],
          ['timestamp', ts],
          ['nonce', n],
          ['encrypt_type', 'aes'],
          ['msg_signature', msgSignature],
        ],
        body,
        'text/xml',
      );
    });
  const verification = fc
    .tuple(timestamp, nonce, fc.option(anyText, { nil: undefined }), fc.boolean())
    .map(([ts, n, echostr, good]) => {
      const pairs: [string, string][] = [
        ['signature', good ? wechatSignature(token, ts, n) : wechatSignature(token, n, ts, 'x')],
        ['timestamp', ts],
        ['nonce', n],
      ];
      if (echostr !== undefined) pairs.push(['echostr', echostr]);
      return post('verify', 'GET', pairs, '', '');
    });
  const oversized = fc
    .tuple(timestamp, nonce, fc.integer({ min: 64 * 1024 - 16, max: 70 * 1024 }))
    .map(([ts, n, size]) =>
      post(
        'oversized',
        'POST',
        [
          ['signature', wechatSignature(token, ts, n)],
          ['timestamp', ts],
          ['nonce', n],
        ],
        `<xml>${'x'.repeat(size)}</xml>`,
        'text/xml',
      ),
    );
  const cases: fc.Arbitrary<Case> = fc.oneof(
    { weight: 3, arbitrary: unsigned },
    { weight: 8, arbitrary: signedPlain },
    { weight: 4, arbitrary: signedSafe },
    { weight: 2, arbitrary: verification },
    { weight: 1, arbitrary: oversized },
  );

  it('never answers 5xx, and changes nothing it refuses; heap stable across the run', async () => {
    const inject = injector(w.t.app);
    const ticketKey = `login:{${ticket.ticketId.slice(0, 16)}}`;
    const tablesBefore = await watch.tables();
    // Warm up (templates, compiled scripts, pools) before the heap is measured.
    for (const sample of fc.sample(cases, { seed: FUZZ_SEED + 1, numRuns: 200 })) await inject(sample.request);
    watch.takeWrites();
    const heapBefore = heapAfterGc();
    const statuses = new Map<string, number>();
    const ticketDigest = (await watch.redis()).get(ticketKey);
    assert.ok(ticketDigest, 'the live ticket is in Redis');

    await fc.assert(
      fc.asyncProperty(cases, async ({ kind, request }) => {
        const before = await watch.redis();
        watch.takeWrites();
        const res = await inject(request);
        const after = await watch.redis();
        const writes = watch.takeWrites();
        const label = `${kind} ${request.method} → ${res.status}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        assert.ok(res.status < 500, `${label}: ${res.text.slice(0, 200)}`);
        assert.ok([200, 400, 401, 405, 413].includes(res.status), `${label}: unexpected status`);
        assert.equal(after.get(ticketKey), ticketDigest, 'the live ticket never changes');
        // A validly signed push records its (timestamp, nonce) even when what follows refuses it.
        if (res.status !== 200 || request.method !== 'POST') {
          assertNoRedisChange(redisChange(before, after, [/^push-nonce:/]), label);
          assert.deepEqual(writes, [], `${label}: MySQL written`);
          if (res.status === 200)
            assert.equal(
              res.text,
              new URLSearchParams(request.url.split('?')[1]).get('echostr'),
              'a verification echoes echostr',
            );
          return;
        }
        // An accepted push: its dedupe claim, and what a follow/unfollow records.
        const change = redisChange(before, after, [/^push:/, /^push-nonce:/]);
        assertNoRedisChange(change, label);
        for (const write of writes) {
          const allowed =
            write.table === 'audit_events' ||
            (write.table === 'wechat_bindings' && /^\s*UPDATE\b/i.test(write.sql) && /subscribed/i.test(write.sql));
          assert.ok(allowed, `${label}: unexpected write ${write.sql}`);
        }
        assert.ok(res.text === 'success' || res.text.startsWith('<xml>'), `${label}: a reply or success`);
        // Dedupe claims are allowed to appear; dropping them keeps the per-case snapshot small.
        await watch.deleteMatching('push:*');
        await watch.deleteMatching('push-nonce:*');
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );

    assert.equal(await watch.tables(), tablesBefore, 'accounts and bindings are as they were');
    const growth = heapAfterGc() - heapBefore;
    assert.ok(
      growth < HEAP_GROWTH_LIMIT_BYTES,
      `heap grew ${(growth / 1048576).toFixed(1)} MiB over ${FUZZ_RUNS} cases`,
    );
    assert.equal(w.t.deps.ticketChanges.waiting, 0, 'no long-poll left waiting');
    // Every kind of case reached the app (the arbitraries did not collapse into one path).
    const seen = JSON.stringify(Object.fromEntries(statuses));
    for (const kind of ['unsigned', 'signed', 'safe', 'verify', 'oversized']) {
      assert.ok(
        [...statuses.keys()].some((label) => label.startsWith(kind)),
        `${kind} cases ran: ${seen}`,
      );
    }
    assert.ok(
      [...statuses.keys()].some((label) => label.startsWith('signed POST → 200')),
      `signed pushes were handled: ${seen}`,
    );
    assert.ok(
      [...statuses.keys()].some((label) => label.startsWith('safe POST → 200')),
      `encrypted pushes were handled: ${seen}`,
    );
  });
});
