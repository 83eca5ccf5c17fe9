import assert from 'node:assert/strict';
import type request from 'supertest';
import { visibleText, type H5Client } from '../support/H5Client';
import { redisOf } from '../support/testApp';
import { LogCapture } from './support/logCapture';
import { API_KEY, env, World } from './support/world';

/** Where a secret is found as a token of its own (not inside a longer number or id). */
const containsToken = (haystack: string, needle: string) =>
  new RegExp(`(?<![0-9A-Za-z])${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9A-Za-z])`).test(haystack);

/**
 * ASVS V14.2.1 (no sensitive data in URLs), V14.2.6 (answers show the minimum: masked) and
 * V16.2.5 (logs by protection level: no credentials, tokens only cut or hashed, personal data
 * masked), over ONE whole flow: 实名绑定 + 实名注册 + 微信扫码登录 + 微信解绑, with the app's own
 * pino logger at debug level capturing every line.
 */
describe('security: sensitive data in URLs, answers and logs (ASVS V14.2.1, V14.2.6, V16.2.5)', () => {
  const logs = new LogCapture('debug');
  const w = new World({ logger: logs.logger });
  const answers: { what: string; res: request.Response }[] = [];
  const urls: string[] = [];
  const sessionIds = new Set<string>();
  const csrfTokens = new Set<string>();
  let secrets: Record<string, string[]> = {};
  let ticketSecrets: { ticketId: string; sceneStr: string; confirmToken: string };
  let replies: string[] = [];

  const keep = (what: string, res: request.Response, client?: H5Client) => {
    answers.push({ what, res });
    if (res.headers.location) urls.push(res.headers.location);
    for (const [, href] of res.text.matchAll(/\s(?:href|src|action)="([^"]+)"/g))
      urls.push(href!.replaceAll('&amp;', '&'));
    for (const [, token] of res.text.matchAll(/name="_csrf" value="([^"]+)"/g)) csrfTokens.add(token!);
    const cookie = client?.sessionCookie();
    if (cookie) sessionIds.add(cookie.split('=')[1]!);
    return res;
  };

  before(async function () {
    this.timeout(60_000);
    await w.start();
    await w.reset();
    logs.clear();

    // 实名绑定: an existing taxpayer binds WeChat A.
    const taxpayer = await w.quickAccount('林纳税');
    const a = w.newUser('纳税人甲');
    keep('bind page', await a.open('/h5/bind'), a);
    keep('bind 登录', await w.bindLogin(a, taxpayer.idNumber, taxpayer.password), a);
    keep('bind step 2', await a.open('/h5/bind'), a);
    keep('获取验证码', await w.requestBindSms(a, taxpayer.phone), a);
    const bindPage = keep('bind step 2 with notice', await a.open('/h5/bind?sent=1'), a);
    const bindCode = w.smsCodeFor(taxpayer.phone)!;
    keep(
      '确定绑定',
      await a.post('/h5/bind/confirm', { _csrf: a.csrfToken(bindPage.text), phone: taxpayer.phone, smsCode: bindCode }),
      a,
    );
    keep('绑定成功', await a.open('/h5/bind/done'), a);
    keep('bound account', await a.open('/h5/bind'), a);

    // 实名注册: WeChat B registers.
    const b = w.newUser('纳税人乙');
    const form = w.newForm({ realName: '欧阳小税', password: 'Reg-Pass-2026!' });
    keep('register page', await b.open('/h5/register'), b);
    const csrf = await w.registerUpToSubmit(b, form);
    const registerCode = w.smsCodeFor(form.phone)!;
    keep('注册', await w.registerPost(b, csrf, form, registerCode), b);
    keep('注册成功', await b.open('/h5/register/done'), b);

    // 微信扫码登录 with WeChat A, then the portal polls and redeems.
    const ticket = await w.createTicket();
    const sceneStr = w.sceneOf(ticket);
    const reply = await w.scan(a.openid, sceneStr);
    replies.push(reply);
    const link = w.confirmLink(reply);
    const confirmPage = keep('confirm page', await a.open(link.path), a);
    keep('确定登录', await a.post('/h5/login/confirm', { _csrf: a.csrfToken(confirmPage.text), c: link.token }), a);
    keep('poll', await w.poll(ticket.ticketId));
    const redeemed = keep('redeem', await w.redeem(ticket.ticketId));
    assert.equal(redeemed.status, 200);
    ticketSecrets = { ticketId: ticket.ticketId, sceneStr, confirmToken: link.token };

    // 微信解绑 through the portal API.
    const list = keep(
      'binding list',
      await w.api().get(`/api/accounts/${taxpayer.account.id}/wechat-bindings`).set('Authorization', API_KEY),
    );
    keep(
      '解绑',
      await w
        .api()
        .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${list.body.bindings[0].id}`)
        .set('Authorization', API_KEY),
    );
    // The best-effort notices (bound, registered, unbound), sent without waiting: each answered by WeChat.
    await w.sim.answered('/cgi-bin/message/custom/send', 3);
    assert.equal(w.sim.outbox.length, 3, 'the three notices are read below');
    replies = [...replies, ...w.sim.outbox.map((m) => JSON.stringify(m.body))];

    const token = await redisOf(w.t.deps).get(w.t.deps.keys.key('wechat', 'access-token'));
    const accessTokens = token
      ? Object.values(JSON.parse(token) as Record<string, unknown>).filter(
          (v): v is string => typeof v === 'string' && v.length >= 16,
        )
      : [];
    assert.ok(accessTokens.length > 0, 'the flow fetched an access token');
    secrets = {
      'ID number': [taxpayer.idNumber, form.idNumber],
      phone: [taxpayer.phone, form.phone],
      password: [taxpayer.password, form.password],
      'SMS code': [bindCode, registerCode],
      'session id': [...sessionIds],
      'CSRF token': [...csrfTokens],
      'ticket secret': [
        ticketSecrets.ticketId,
        ticketSecrets.sceneStr.replace(/^login_/, ''),
        ticketSecrets.confirmToken,
      ],
      'WeChat AppSecret, token or AES key': [env.WECHAT_APPSECRET!, env.WECHAT_ENCODING_AES_KEY!],
      'portal API key': [env.PORTAL_API_KEYS!],
      'session secret or data key': [env.SESSION_SECRET!, env.DATA_KEY!],
      'access token': accessTokens,
      'full openid': [a.openid, b.openid],
      'full real name (more than its first character)': [form.realName],
    };
  });
  after(() => w.stop());

  it('V16.2.5: the logs of a whole flow (bind, register, scan-login, unbind) hold no credential, token, key, ID number, phone, SMS code or full openid', () => {
    assert.ok(logs.raw.length > 30, `the flow was logged (${logs.raw.length} lines)`);
    const text = logs.text;
    for (const [kind, values] of Object.entries(secrets)) {
      for (const value of values)
        assert.ok(!containsToken(text, value), `a log line shows a ${kind}: ${value.slice(0, 4)}…`);
    }
    assert.ok(!text.includes(env.WECHAT_TOKEN!), 'the push token');
    // What the logs do say: masked openids, cut ticket ids, paths without queries.
    const requests = logs.lines.filter((l) => l.msg === 'request');
    assert.ok(requests.length > 20);
    for (const line of requests) assert.ok(!String(line.path).includes('?'), `no query string: ${String(line.path)}`);
    assert.ok(
      requests.some((l) => String(l.path).startsWith(`/api/login/tickets/${ticketSecrets.ticketId.slice(0, 16)}…`)),
      "a poll is logged with the ticket's tag only",
    );
    assert.ok(
      logs.lines.some((l) => /^.{6}\*\*\*\*.{4}$/.test(String((l.audit as { openid?: unknown } | undefined)?.openid))),
      'audit lines carry the masked openid',
    );
  });

  it("V14.2.1: no URL the app makes carries personal data, a password, an SMS code, a session id, a CSRF token or a key; the only secrets in URLs are WeChat's OAuth code and the confirm link's token", () => {
    assert.ok(urls.length > 20, `URLs collected: ${urls.length}`);
    for (const url of urls) {
      for (const [kind, values] of Object.entries(secrets)) {
        if (
          kind === 'ticket secret' ||
          kind === 'CSRF token' ||
          kind === 'full real name (more than its first character)'
        )
          continue;
        for (const value of values)
          assert.ok(!containsToken(decodeURIComponent(url), value), `${url} carries a ${kind}`);
      }
      for (const token of csrfTokens) assert.ok(!url.includes(token), `${url} carries the CSRF token`);
      if (url.includes(ticketSecrets.confirmToken))
        assert.match(url, /\/h5\/login\/confirm\?c=[0-9a-f]{48}$/, 'the confirm token only in its own link');
      assert.ok(!url.includes(ticketSecrets.ticketId), 'the ticketId never in a URL the app makes');
    }
    // The confirm link goes to the scanner's own WeChat chat, works only in that WeChat's session,
    // and the Referrer-Policy keeps it from leaving the origin.
    assert.ok(replies[0]!.includes(`/h5/login/confirm?c=${ticketSecrets.confirmToken}`));
    for (const { res } of answers) assert.equal(res.headers['referrer-policy'], 'same-origin');
    // Forms send everything sensitive in the POST body.
    for (const { res } of answers) {
      for (const [, method] of res.text.matchAll(/<form[^>]*method="([^"]+)"/g))
        assert.equal(method!.toLowerCase(), 'post');
    }
  });

  it('V14.2.6: answers, pages and WeChat messages show ID numbers, phones and openids only masked; personal pages are not cached', () => {
    const personal = [...secrets['ID number']!, ...secrets.phone!, ...secrets['full openid']!];
    // The forms that show back what the user typed on this very page are the exception (step 2's
    // phone, 实名注册's fields after 获取验证码); every other answer is checked.
    const checked = answers.filter(
      ({ what }) => !['bind step 2', 'bind step 2 with notice', 'register page', '获取验证码'].includes(what),
    );
    for (const { what, res } of checked) {
      // Redeem answers the portal's server (with its key) the openid, as the portal API specifies; nothing else does.
      const shown = what === 'redeem' ? personal.filter((v) => !secrets['full openid']!.includes(v)) : personal;
      for (const value of shown) assert.ok(!containsToken(res.text, value), `${what} shows ${value.slice(0, 4)}…`);
    }
    for (const reply of replies)
      for (const value of personal.filter((v) => !reply.includes(`"touser":"${v}"`)))
        assert.ok(
          !containsToken(reply.replace(/"touser":"[^"]+"/, ''), value),
          `a WeChat message shows ${value.slice(0, 4)}…`,
        );
    const redeemed = answers.find((a) => a.what === 'redeem')!.res.body as { account: Record<string, string> };
    assert.match(redeemed.account.idNumberMasked!, /^\d{3}\*+[\dX]{4}$/);
    assert.match(redeemed.account.phoneMasked!, /^\d{3}\*{4}\d{4}$/);
    const list = answers.find((a) => a.what === 'binding list')!.res.body as { bindings: Record<string, unknown>[] };
    assert.match(String(list.bindings[0]!.openidMasked), /\*\*\*\*/);
    assert.ok(!('openid' in list.bindings[0]!));
    assert.match(
      visibleText(answers.find((a) => a.what === 'confirm page')!.res.text),
      /林\*\*/,
      'the confirm page masks the name',
    );
    for (const { what, res } of answers.filter(
      (a) => a.res.status === 200 && /text\/html|json/.test(String(a.res.headers['content-type'])),
    )) {
      assert.match(String(res.headers['cache-control']), /no-store/, `${what} is not cached`);
    }
  });
});
