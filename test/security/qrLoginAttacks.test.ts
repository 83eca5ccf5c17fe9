import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { visibleText } from '../support/H5Client';
import { injector } from '../fuzz/support/inject';
import { API_KEY, World } from './support/world';

const client = { ip: '198.51.100.66', userAgent: 'attacker' };
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * The five attacks on QR-code login of Zhang et al., "Demystifying the (In)Security of QR Code-based
 * Login in Real-world Deployments" (USENIX Security 2025): Brute-force Login, Double Login,
 * Authorization Hijacking, Universal Account Takeover and Privacy Abuse. Each test mounts the attack
 * against 微信扫码登录 and shows it fail (docs/security.md maps each to the design).
 */
describe('security: QR-login attacks of the USENIX Security 2025 study', () => {
  const w = new World();
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  /** A victim's PC ticket, scanned by the victim's (bound) WeChat, whose confirm page is open. */
  async function victimTicket() {
    const taxpayer = await w.quickAccount('王受害');
    const phone = w.newUser('受害人');
    const scanned = await w.scannedTicket(phone, taxpayer);
    return { taxpayer, phone, ...scanned };
  }

  it("Brute-force Login: 10,000 guessed or forged ticket ids and 2,000 forged confirm tokens (live slot tag included) find no ticket; the victim's login is untouched", async () => {
    const victim = await victimTicket();
    await w.t.deps.login.confirm(victim.token, victim.phone.openid, client);
    const tag = victim.ticket.ticketId.slice(0, 16);
    const inject = injector(w.t.app);
    const guesses = [
      ...Array.from({ length: 4000 }, () => hex(24)),
      ...Array.from({ length: 4000 }, () => tag + hex(16)),
      ...Array.from({ length: 2000 }, (_, i) =>
        i % 2 ? tag + victim.ticket.ticketId.slice(16, 47) + hex(1).slice(0, 1) : victim.token,
      ),
    ].filter((id) => id !== victim.ticket.ticketId);
    let found = 0;
    for (const [i, id] of guesses.entries()) {
      const res =
        i % 5 === 0
          ? await inject({
              method: 'POST',
              url: `/api/login/tickets/${id}/redeem`,
              headers: { authorization: API_KEY },
            })
          : await inject({ method: 'GET', url: `/api/login/tickets/${id}` });
      if (res.status !== 404) found += 1;
    }
    assert.equal(found, 0, 'every guess is answered 404');
    for (let i = 0; i < 2000; i++) {
      const forged = i % 2 ? tag + hex(16) : hex(24);
      assert.equal((await w.t.deps.login.confirm(forged, victim.phone.openid, client)).result, 'unknown');
    }
    // The identifiers carry 128 random bits each (tokens.test.ts, V11.5.1): 2^128 guesses, not 10^4.
    assert.equal((await w.poll(victim.ticket.ticketId)).body.status, 'confirmed');
    const redeemed = await w.redeem(victim.ticket.ticketId);
    assert.equal(redeemed.status, 200);
    assert.equal(redeemed.body.account.id, victim.taxpayer.account.id);
  });

  it('Double Login: one confirmation logs one PC in once — a second redeem, a re-scan, a re-confirm or another scanner gets nothing (parallel redeems: loginFlow "races")', async () => {
    const victim = await victimTicket();
    const done = await victim.phone.post('/h5/login/confirm', { _csrf: victim.csrf, c: victim.token });
    assert.match(visibleText(done.text), /登录成功/);
    assert.equal((await w.redeem(victim.ticket.ticketId)).status, 200);
    const second = await w.redeem(victim.ticket.ticketId);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, 'ticket_already_redeemed');
    // The same QR scanned again (by its owner or another bound WeChat) gives no new confirm link.
    const rescan = await w.scan(victim.phone.openid, w.sceneOf(victim.ticket));
    assert.ok(!rescan.includes('/h5/login/confirm'), rescan);
    const other = w.sim.createUser('另一人').openid;
    await w.insertBinding(other, await w.quickAccount());
    assert.ok(!(await w.scan(other, w.sceneOf(victim.ticket))).includes('/h5/login/confirm'));
    const again = await w.t.deps.login.confirm(victim.token, victim.phone.openid, client);
    assert.deepEqual(again, { result: 'wrong_status', status: 'redeemed' });
    assert.equal((await w.redeem(victim.ticket.ticketId)).status, 409);
    assert.equal((await w.poll(victim.ticket.ticketId)).body.status, 'redeemed');
    assert.equal((await w.audit('login_redeemed')).length, 1);
  });

  it("Authorization Hijacking: a second WeChat scanning the victim's QR is told it is in use, cannot confirm or cancel with the victim's link, and the PC logs into the victim's account only", async () => {
    const victim = await victimTicket();
    const attackerAccount = await w.quickAccount('黑客');
    const attacker = w.newUser('攻击者');
    await w.insertBinding(attacker.openid, attackerAccount);
    const reply = await w.scan(attacker.openid, w.sceneOf(victim.ticket));
    assert.ok(!reply.includes('/h5/login/confirm'), 'no confirm link for the second scanner');
    // Even holding the victim's link (shoulder-surfed, forwarded), the attacker's WeChat gets nowhere.
    const page = await attacker.open(`/h5/login/confirm?c=${victim.token}`);
    assert.equal(page.status, 403);
    assert.doesNotMatch(page.text, /王|198\.51|203\.0\.113/);
    const { csrf } = await w.scannedTicket(attacker, attackerAccount); // the attacker's own session and CSRF token
    for (const action of ['/h5/login/confirm', '/h5/login/cancel']) {
      const res = await attacker.post(action, { _csrf: csrf, c: victim.token });
      assert.doesNotMatch(visibleText(res.text), /登录成功|已取消登录/, action);
    }
    assert.equal((await w.poll(victim.ticket.ticketId)).body.status, 'scanned', "still the victim's to decide");
    await victim.phone.post('/h5/login/confirm', { _csrf: victim.csrf, c: victim.token });
    const redeemed = await w.redeem(victim.ticket.ticketId);
    assert.equal(redeemed.body.account.id, victim.taxpayer.account.id);
    assert.equal(redeemed.body.openid, victim.phone.openid);
  });

  // The other direction (an attacker's QR shown to a victim, who scans it) cannot be told apart by
  // the server; it is mitigated on the phone, which names the PC asking and warns (docs/security.md).
  it('Authorization Hijacking: the confirm page shows the requesting PC (IP, browser, time) and a warning before 确定登录', async () => {
    const account = await w.quickAccount('王受害');
    const phone = w.newUser('受害人');
    await w.insertBinding(phone.openid, account);
    const ticket = await w.createTicket({
      clientIp: '203.0.113.99',
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36',
    });
    const link = w.confirmLink(await w.scan(phone.openid, w.sceneOf(ticket)));
    const page = visibleText((await phone.open(link.path)).text);
    assert.match(page, /203\.0\.113\.99/);
    assert.match(page, /Chrome/);
    assert.match(page, /20\d\d/);
    assert.match(page, /本人|确认|切勿|请勿/);
  });

  it("Universal Account Takeover: ids the client supplies (accountId, openid, status) are ignored or refused — the account always comes from the scanner's own binding", async () => {
    const victimAccount = await w.quickAccount('王受害');
    const victimOpenid = w.sim.createUser('受害人').openid;
    await w.insertBinding(victimOpenid, victimAccount);
    const attackerAccount = await w.quickAccount('黑客');
    const attacker = w.newUser('攻击者');
    // The ticket request cannot name an account or an owner.
    for (const body of [{ accountId: victimAccount.account.id }, { openid: victimOpenid }, { status: 'confirmed' }]) {
      const res = await w.api().post('/api/login/tickets').set('Authorization', API_KEY).send(body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    // Scan and confirm as the attacker, naming the victim everywhere the client can.
    const scanned = await w.scannedTicket(attacker, attackerAccount);
    const confirm = await attacker.post('/h5/login/confirm', {
      _csrf: scanned.csrf,
      c: scanned.token,
      accountId: victimAccount.account.id,
      openid: victimOpenid,
      account_id: victimAccount.account.id,
    });
    assert.match(visibleText(confirm.text), /登录成功/);
    const redeemed = await w
      .api()
      .post(`/api/login/tickets/${scanned.ticket.ticketId}/redeem`)
      .set('Authorization', API_KEY)
      .send({ accountId: victimAccount.account.id, openid: victimOpenid });
    assert.equal(redeemed.status, 200);
    assert.equal(redeemed.body.account.id, attackerAccount.account.id, 'the attacker gets only their own account');
    assert.equal(redeemed.body.openid, attacker.openid);
    // A scan claiming to come from the victim's WeChat needs WeChat's signature.
    const forged = w.driver.sign(w.driver.event(victimOpenid, 'SCAN', w.sceneOf(await w.createTicket())));
    assert.equal(
      (
        await w
          .api()
          .post('/wechat')
          .query({ ...forged.query, signature: '0'.repeat(40) })
          .type('text/xml')
          .send(forged.body)
      ).status,
      401,
    );
    // Nor can 实名绑定 be pointed at the victim's account: step 2 binds the account that passed 登录.
    const binder = w.newUser('绑定攻击');
    const { csrf, code } = await w.bindUpToConfirm(binder, attackerAccount);
    await binder.post('/h5/bind/confirm', {
      _csrf: csrf,
      phone: attackerAccount.phone,
      smsCode: code,
      accountId: victimAccount.account.id,
    });
    assert.equal(
      await w.bindings().countBy({ accountId: victimAccount.account.id }),
      1,
      'the victim still has only their own WeChat',
    );
  });

  it('Privacy Abuse: a poll, in every state and with any id, tells nothing but the status; a stranger\'s scan and a stranger\'s look at the confirm link tell nothing either (also loginFlow "never answers with personal data")', async () => {
    const account = await w.quickAccount('王受害');
    const phone = w.newUser('受害人');
    await w.insertBinding(phone.openid, account);
    const ticket = await w.createTicket({ clientIp: '203.0.113.99', userAgent: 'Mozilla/5.0 Chrome/131.0' });
    const scene = w.sceneOf(ticket);
    const personal = [account.idNumber, account.phone, account.account.id, phone.openid, '王', '203.0.113.99', scene];
    const polls = [await w.poll(ticket.ticketId)];
    const stranger = w.sim.createUser('路人').openid;
    const strangerReply = await w.scan(stranger, scene); // unbound: needs_binding
    for (const value of personal)
      assert.ok(!strangerReply.includes(value), 'the unbound scanner learns nothing about the PC or account');
    polls.push(await w.poll(ticket.ticketId));
    const link = w.confirmLink(await w.scan(phone.openid, scene));
    polls.push(await w.poll(ticket.ticketId), await w.poll(ticket.ticketId, '?wait=0&status=pending'));
    await w.t.deps.login.confirm(link.token, phone.openid, client);
    polls.push(await w.poll(ticket.ticketId));
    await w.redeem(ticket.ticketId);
    polls.push(await w.poll(ticket.ticketId));
    assert.deepEqual(
      polls.map((p) => p.body.status),
      ['pending', 'needs_binding', 'scanned', 'scanned', 'confirmed', 'redeemed'],
    );
    for (const poll of polls) {
      assert.deepEqual(Object.keys(poll.body).sort(), ['expiresAt', 'status', 'ticketId']);
      for (const value of [...personal, link.token])
        assert.ok(!poll.text.includes(value), `a poll shows ${value.slice(0, 4)}…`);
    }
    // The ticket's other secrets are no poll ids; other origins get no CORS grant.
    for (const id of [link.token, scene, scene.replace(/^login_/, '')]) assert.equal((await w.poll(id)).status, 404);
    const cross = await w.api().get(`/api/login/tickets/${ticket.ticketId}`).set('Origin', 'https://evil.example');
    assert.equal(cross.headers['access-control-allow-origin'], undefined);
    // A stranger opening the confirm link sees nothing of the login.
    const snoop = w.newUser('偷看');
    const page = await snoop.open(link.path);
    assert.equal(page.status, 403);
    for (const value of personal)
      assert.ok(!page.text.includes(value), `the confirm page shows a stranger ${value.slice(0, 4)}…`);
  });
});
