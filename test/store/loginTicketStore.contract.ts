import assert from 'node:assert/strict';
import { CONFIRMED_GRACE_MS, KEEP_AFTER_EXPIRY_MS, type LoginTicket } from '../../src/login/LoginTicket';
import type { LoginTicketStore } from '../../src/login/LoginTicketStore';
import { ticketChangeId, type TicketChangeFeed } from '../../src/login/TicketChangeFeed';
import { newTicketIdentifiers } from '../../src/login/ticketIdentifiers';
import { ChangeRecorder } from './support/ChangeRecorder';
import { useStore, type OpenStore } from './support/storeFixture';

/** A ticket store and the feed its transitions are announced on. */
export interface TicketStoreAndFeed {
  tickets: LoginTicketStore;
  changes: TicketChangeFeed;
}

const TTL_MS = 300_000;
const OWNER = 'oOWNER00000000000000000000001';
const STRANGER = 'oSTRANGER000000000000000000001';
const PORTAL = 'etax';

/**
 * What LoginService relies on: every transition one atomic compare-and-set, identifiers that lead
 * only to their own ticket, expiry by the caller's `now`, and each change (and only a change)
 * announced on the feed as the SHA-1 of the ticketId.
 */
export function describeLoginTicketStoreContract(name: string, open: OpenStore<TicketStoreAndFeed>): void {
  describe(`${name} (LoginTicketStore + TicketChangeFeed contract)`, () => {
    const t = useStore(open);
    let changes: ChangeRecorder;
    const tickets = () => t.store.tickets;
    const now = () => t.clock.now();

    beforeEach(async () => {
      changes = new ChangeRecorder();
      await t.store.changes.start(changes.record);
    });
    afterEach(async () => {
      await t.store.changes.stop();
    });

    async function created(): Promise<LoginTicket> {
      const ids = newTicketIdentifiers();
      const ticket: LoginTicket = {
        ticketId: ids.ticketId,
        sceneStr: ids.sceneStr,
        confirmToken: ids.confirmToken,
        status: 'pending',
        createdAt: now(),
        expiresAt: now() + TTL_MS,
        clientIp: '203.0.113.7',
        browser: 'Windows 上的 Chrome 浏览器',
        portal: PORTAL,
        portalDisplayName: '福建省网上税务局',
      };
      await tickets().create(ticket);
      return ticket;
    }
    async function scanned(): Promise<LoginTicket> {
      const ticket = await created();
      assert.equal((await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now())).result, 'scanned');
      return ticket;
    }
    async function confirmed(): Promise<LoginTicket> {
      const ticket = await scanned();
      assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), { result: 'done' });
      return ticket;
    }
    /**
     * Checks that exactly these changes were announced. One ticket's changes arrive in order; on a
     * Cluster two tickets may live on two primaries, whose messages may overtake each other, so the
     * check waits for every expected change and a last change of a sentinel ticket, then compares
     * them as a multiset.
     */
    async function announced(...ticketsChanged: LoginTicket[]): Promise<void> {
      const sentinel = await created();
      await tickets().scan(sentinel.sceneStr, OWNER, 'account-1', now());
      const expected = [...ticketsChanged, sentinel].map((ticket) => ticketChangeId(ticket.ticketId));
      for (const id of new Set(expected)) {
        await changes.untilSeen(id, expected.filter((other) => other === id).length);
      }
      assert.deepEqual([...changes.seen].sort(), [...expected].sort());
    }

    describe('identifiers', () => {
      it('finds a ticket by its ticketId and by its confirmToken, as it was created', async () => {
        const ticket = await created();
        assert.deepEqual(await tickets().byTicketId(ticket.ticketId), ticket);
        assert.deepEqual(await tickets().byConfirmToken(ticket.confirmToken), ticket);
      });

      it('finds nothing by another identifier of the ticket, a forged one with its tag, or a malformed one', async () => {
        const ticket = await created();
        const forged = ticket.ticketId.slice(0, 16) + 'f'.repeat(32);
        assert.equal(await tickets().byTicketId(ticket.confirmToken), null);
        assert.equal(await tickets().byConfirmToken(ticket.ticketId), null);
        assert.equal(await tickets().byTicketId(forged), null);
        assert.equal(await tickets().byConfirmToken(forged), null);
        for (const bad of ['', 'x', '../../etc/passwd', ticket.sceneStr])
          assert.equal(await tickets().byTicketId(bad), null);
      });

      it('answers unknown to a scan, confirm, cancel or redeem with a forged or wrong identifier', async () => {
        const ticket = await created();
        const forgedScene = `${ticket.sceneStr.slice(0, 'login_'.length + 16)}${'0'.repeat(32)}`;
        assert.deepEqual(await tickets().scan(forgedScene, OWNER, 'account-1', now()), { result: 'unknown' });
        assert.deepEqual(await tickets().scan(`login_${ticket.ticketId}`, OWNER, 'account-1', now()), {
          result: 'unknown',
        });
        assert.deepEqual(await tickets().scan('login_nonsense', OWNER, 'account-1', now()), { result: 'unknown' });
        assert.deepEqual(await tickets().confirm(ticket.ticketId, OWNER, now()), { result: 'unknown' });
        assert.deepEqual(await tickets().cancel('nonsense', OWNER, now()), { result: 'unknown' });
        assert.deepEqual(await tickets().redeem(ticket.confirmToken, PORTAL, now()), { result: 'unknown' });
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'pending');
      });
    });

    describe('scan', () => {
      it('makes a bound WeChat the owner and announces it', async () => {
        const ticket = await created();
        clockStep();
        const outcome = await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now());
        assert.equal(outcome.result, 'scanned');
        const expected = { ...ticket, status: 'scanned', openid: OWNER, accountId: 'account-1', scannedAt: now() };
        assert.deepEqual(outcome.result === 'scanned' && outcome.ticket, expected);
        assert.deepEqual(await tickets().byTicketId(ticket.ticketId), expected);
        await announced(ticket);
      });

      it("marks an unbound WeChat's scan needs_binding once; the same QR works after binding", async () => {
        const ticket = await created();
        assert.deepEqual(await tickets().scan(ticket.sceneStr, OWNER, null, now()), { result: 'needs_binding' });
        assert.deepEqual(await tickets().scan(ticket.sceneStr, OWNER, null, now()), { result: 'needs_binding' });
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'needs_binding');
        assert.equal((await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now())).result, 'scanned');
        await announced(ticket, ticket);
      });

      it('tells another WeChat the ticket is in use, and the owner that it owns it', async () => {
        const ticket = await scanned();
        assert.deepEqual(await tickets().scan(ticket.sceneStr, STRANGER, 'account-2', now()), { result: 'in_use' });
        const again = await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now());
        assert.equal(again.result, 'owned');
        assert.equal(again.result === 'owned' && again.ticket.openid, OWNER);
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.openid, OWNER);
        await announced(ticket);
      });

      it("answers expired past the ticket's expiry", async () => {
        const ticket = await created();
        t.clock.advance(TTL_MS + 1);
        assert.deepEqual(await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now()), { result: 'expired' });
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'pending');
      });

      it('makes exactly one of 10 WeChats scanning at once the owner', async () => {
        const ticket = await created();
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) => tickets().scan(ticket.sceneStr, `oRACER${i}`, `account-${i}`, now())),
        );
        assert.equal(outcomes.filter((o) => o.result === 'scanned').length, 1);
        assert.equal(outcomes.filter((o) => o.result === 'in_use').length, 9);
        await announced(ticket);
      });
    });

    describe('confirm and cancel', () => {
      it('confirms for the owner only, while scanned, and announces it', async () => {
        const ticket = await scanned();
        assert.deepEqual(await tickets().confirm(ticket.confirmToken, STRANGER, now()), { result: 'not_owner' });
        clockStep();
        assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), { result: 'done' });
        const stored = (await tickets().byConfirmToken(ticket.confirmToken))!;
        assert.equal(stored.status, 'confirmed');
        assert.equal(stored.confirmedAt, now());
        assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), {
          result: 'wrong_status',
          status: 'confirmed',
        });
        await announced(ticket, ticket);
      });

      it('refuses before the scan, with the status', async () => {
        const ticket = await created();
        assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), {
          result: 'wrong_status',
          status: 'pending',
        });
        assert.deepEqual(await tickets().cancel(ticket.confirmToken, OWNER, now()), {
          result: 'wrong_status',
          status: 'pending',
        });
      });

      it('refuses past the expiry', async () => {
        const ticket = await scanned();
        t.clock.advance(TTL_MS + 1);
        assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), { result: 'expired' });
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'scanned');
      });

      it('cancels for the owner; nothing can be confirmed after', async () => {
        const ticket = await scanned();
        assert.deepEqual(await tickets().cancel(ticket.confirmToken, STRANGER, now()), { result: 'not_owner' });
        assert.deepEqual(await tickets().cancel(ticket.confirmToken, OWNER, now()), { result: 'done' });
        assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), {
          result: 'wrong_status',
          status: 'cancelled',
        });
        assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), { result: 'not_confirmed' });
        await announced(ticket, ticket);
      });

      it('lets exactly one of 10 concurrent confirms and cancels decide', async () => {
        const ticket = await scanned();
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            i % 2 === 0
              ? tickets().confirm(ticket.confirmToken, OWNER, now())
              : tickets().cancel(ticket.confirmToken, OWNER, now()),
          ),
        );
        assert.equal(outcomes.filter((o) => o.result === 'done').length, 1);
        assert.equal(outcomes.filter((o) => o.result === 'wrong_status').length, 9);
        await announced(ticket, ticket);
      });
    });

    describe('redeem', () => {
      it('redeems a confirmed ticket exactly once, with its owner and account', async () => {
        const ticket = await confirmed();
        assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), {
          result: 'redeemed',
          openid: OWNER,
          accountId: 'account-1',
        });
        assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), { result: 'already_redeemed' });
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'redeemed');
        await announced(ticket, ticket, ticket);
      });

      it('refuses what is not confirmed, and answers expired once that is past its expiry', async () => {
        const ticket = await scanned();
        assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), { result: 'not_confirmed' });
        t.clock.advance(TTL_MS + 1);
        assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), { result: 'expired' });
      });

      it('keeps a confirmed login redeemable for the grace period past the expiry, and no longer', async () => {
        const late = await scanned();
        const later = await scanned();
        t.clock.advance(TTL_MS - 10_000);
        await tickets().confirm(late.confirmToken, OWNER, now());
        await tickets().confirm(later.confirmToken, OWNER, now());
        t.clock.advance(CONFIRMED_GRACE_MS);
        assert.equal((await tickets().redeem(late.ticketId, PORTAL, now())).result, 'redeemed');
        t.clock.advance(1);
        assert.deepEqual(await tickets().redeem(later.ticketId, PORTAL, now()), { result: 'expired' });
      });

      it("answers unknown to another portal's redeem and leaves the ticket as it is", async () => {
        const ticket = await confirmed();
        assert.deepEqual(await tickets().redeem(ticket.ticketId, 'other-portal', now()), { result: 'unknown' });
        assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'confirmed');
        assert.equal((await tickets().redeem(ticket.ticketId, PORTAL, now())).result, 'redeemed');
        await announced(ticket, ticket, ticket);
      });

      it('redeems exactly once when 10 redeems race', async () => {
        const ticket = await confirmed();
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, () => tickets().redeem(ticket.ticketId, PORTAL, now())),
        );
        assert.equal(outcomes.filter((o) => o.result === 'redeemed').length, 1);
        assert.equal(outcomes.filter((o) => o.result === 'already_redeemed').length, 9);
        await announced(ticket, ticket, ticket);
      });
    });

    describe('endOwnedBy (the WeChat that scanned was unbound)', () => {
      it("cancels that WeChat's scanned and confirmed tickets, announces each, and leaves everything else", async () => {
        const open = await scanned();
        const done = await confirmed();
        const redeemed = await confirmed();
        await tickets().redeem(redeemed.ticketId, PORTAL, now());
        const pending = await created();
        const others = await created();
        assert.equal((await tickets().scan(others.sceneStr, STRANGER, 'account-2', now())).result, 'scanned');
        const ended = await tickets().endOwnedBy(OWNER);
        assert.deepEqual(ended.map((ticket) => ticket.ticketId).sort(), [open.ticketId, done.ticketId].sort());
        assert.ok(ended.every((ticket) => ticket.status === 'cancelled' && ticket.portal === PORTAL));
        for (const ticket of [open, done]) {
          assert.equal((await tickets().byTicketId(ticket.ticketId))!.status, 'cancelled');
          assert.deepEqual(await tickets().confirm(ticket.confirmToken, OWNER, now()), {
            result: 'wrong_status',
            status: 'cancelled',
          });
          assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), { result: 'not_confirmed' });
        }
        assert.equal((await tickets().byTicketId(redeemed.ticketId))!.status, 'redeemed');
        assert.equal((await tickets().byTicketId(pending.ticketId))!.status, 'pending');
        assert.equal((await tickets().byTicketId(others.ticketId))!.status, 'scanned');
        assert.deepEqual(await tickets().endOwnedBy(OWNER), [], 'nothing is left to end');
        await announced(open, open, done, done, done, redeemed, redeemed, redeemed, others);
      });

      it("ends nothing for a WeChat that scanned a ticket another WeChat owns, nor for an unbound WeChat's scan", async () => {
        const owned = await scanned();
        assert.equal((await tickets().scan(owned.sceneStr, STRANGER, 'account-2', now())).result, 'in_use');
        const unbound = await created();
        assert.equal((await tickets().scan(unbound.sceneStr, STRANGER, null, now())).result, 'needs_binding');
        assert.deepEqual(await tickets().endOwnedBy(STRANGER), []);
        assert.equal((await tickets().byTicketId(owned.ticketId))!.status, 'scanned');
      });
    });

    describe('lifetime', () => {
      it('keeps a ticket for a while past its expiry, so a late poll learns "expired", then forgets it', async () => {
        const ticket = await created();
        await t.advance(TTL_MS + KEEP_AFTER_EXPIRY_MS - 1000);
        assert.ok(await tickets().byTicketId(ticket.ticketId));
        await t.advance(1000);
        assert.equal(await tickets().byTicketId(ticket.ticketId), null);
        assert.deepEqual(await tickets().redeem(ticket.ticketId, PORTAL, now()), { result: 'unknown' });
      });
    });

    describe('the feed', () => {
      it('announces only changes: nothing for refused transitions, one for each change', async () => {
        const ticket = await created();
        await tickets().confirm(ticket.confirmToken, OWNER, now());
        await tickets().redeem(ticket.ticketId, PORTAL, now());
        await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now());
        await tickets().scan(ticket.sceneStr, STRANGER, 'account-2', now());
        await tickets().scan(ticket.sceneStr, OWNER, 'account-1', now());
        await announced(ticket);
      });

      it('refuses a second start: one subscription per process', async () => {
        await assert.rejects(t.store.changes.start(() => undefined));
      });
    });

    /** Moves the clock a little, so times written by a transition differ from the creation time. */
    function clockStep(): void {
      t.clock.advance(1234);
    }
  });
}
