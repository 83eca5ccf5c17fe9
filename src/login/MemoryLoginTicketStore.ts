import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import { CONFIRMED_GRACE_MS, KEEP_AFTER_EXPIRY_MS, OWNED_TICKETS_TTL_MS, type LoginTicket } from './LoginTicket';
import type { ConfirmOutcome, LoginTicketStore, RedeemOutcome, ScanOutcome } from './LoginTicketStore';
import type { MemoryTicketChangeFeed } from './MemoryTicketChangeFeed';
import { ticketChangeId } from './TicketChangeFeed';
import { sameIdentifier, tagOf, tagOfScene } from './ticketIdentifiers';

/**
 * Login tickets in this process (REDIS_URL=memory), by slot tag as in Redis. Every transition is the
 * Lua compare-and-set of RedisLoginTicketStore step for step, run without an await in between, so it
 * is atomic; each change is published on the feed the process's TicketChangeHub listens to.
 */
export class MemoryLoginTicketStore implements LoginTicketStore {
  private readonly tickets: ExpiringMap<LoginTicket>;
  /** The tags of the tickets each openid scanned, as RedisLoginTicketStore's `login:owned:` sets. */
  private readonly owned: ExpiringMap<Set<string>>;

  constructor(
    clock: Clock,
    private readonly changes: MemoryTicketChangeFeed,
  ) {
    this.tickets = new ExpiringMap(clock);
    this.owned = new ExpiringMap(clock);
  }

  create(ticket: LoginTicket): Promise<void> {
    this.tickets.set(
      tagOf(ticket.ticketId)!,
      { ...ticket },
      ticket.expiresAt - ticket.createdAt + KEEP_AFTER_EXPIRY_MS,
    );
    return Promise.resolve();
  }

  byTicketId(ticketId: string): Promise<LoginTicket | null> {
    const ticket = this.byTag(tagOf(ticketId));
    return Promise.resolve(ticket && sameIdentifier(ticket.ticketId, ticketId) ? { ...ticket } : null);
  }

  byConfirmToken(confirmToken: string): Promise<LoginTicket | null> {
    const ticket = this.byTag(tagOf(confirmToken));
    return Promise.resolve(ticket && sameIdentifier(ticket.confirmToken, confirmToken) ? { ...ticket } : null);
  }

  scan(sceneStr: string, openid: string, accountId: string | null, now: number): Promise<ScanOutcome> {
    const tag = tagOfScene(sceneStr);
    if (tag && accountId) this.owned.set(openid, (this.owned.get(openid) ?? new Set()).add(tag), OWNED_TICKETS_TTL_MS);
    const ticket = this.byTag(tag);
    if (!ticket || !sameIdentifier(ticket.sceneStr, sceneStr)) return Promise.resolve({ result: 'unknown' });
    if (ticket.status === 'pending' || ticket.status === 'needs_binding') {
      if (now > ticket.expiresAt) return Promise.resolve({ result: 'expired' });
      if (accountId) {
        ticket.status = 'scanned';
        ticket.openid = openid;
        ticket.accountId = accountId;
        ticket.scannedAt = now;
        this.announce(ticket);
        return Promise.resolve({ result: 'scanned', ticket: { ...ticket } });
      }
      if (ticket.status === 'pending') {
        ticket.status = 'needs_binding';
        this.announce(ticket);
      }
      return Promise.resolve({ result: 'needs_binding' });
    }
    if (ticket.openid !== openid) return Promise.resolve({ result: 'in_use' });
    return Promise.resolve({ result: 'owned', ticket: { ...ticket } });
  }

  confirm(confirmToken: string, openid: string, now: number): Promise<ConfirmOutcome> {
    return Promise.resolve(
      this.decide(confirmToken, openid, now, (ticket) => {
        ticket.status = 'confirmed';
        ticket.confirmedAt = now;
      }),
    );
  }

  cancel(confirmToken: string, openid: string, now: number): Promise<ConfirmOutcome> {
    return Promise.resolve(
      this.decide(confirmToken, openid, now, (ticket) => {
        ticket.status = 'cancelled';
      }),
    );
  }

  redeem(ticketId: string, portal: string, now: number): Promise<RedeemOutcome> {
    const ticket = this.byTag(tagOf(ticketId));
    if (!ticket || !sameIdentifier(ticket.ticketId, ticketId)) return Promise.resolve({ result: 'unknown' });
    if (ticket.portal !== portal) return Promise.resolve({ result: 'unknown' });
    if (ticket.status === 'redeemed') return Promise.resolve({ result: 'already_redeemed' });
    if (ticket.status !== 'confirmed')
      return Promise.resolve({ result: now > ticket.expiresAt ? 'expired' : 'not_confirmed' });
    if (now > Math.max(ticket.expiresAt, (ticket.confirmedAt ?? 0) + CONFIRMED_GRACE_MS))
      return Promise.resolve({ result: 'expired' });
    ticket.status = 'redeemed';
    this.announce(ticket);
    return Promise.resolve({ result: 'redeemed', openid: ticket.openid!, accountId: ticket.accountId! });
  }

  endOwnedBy(openid: string): Promise<LoginTicket[]> {
    const ended: LoginTicket[] = [];
    for (const tag of this.owned.take(openid) ?? []) {
      const ticket = this.byTag(tag);
      if (!ticket || ticket.openid !== openid || (ticket.status !== 'scanned' && ticket.status !== 'confirmed'))
        continue;
      ticket.status = 'cancelled';
      this.announce(ticket);
      ended.push({ ...ticket });
    }
    return Promise.resolve(ended);
  }

  /** The phone's 确定登录 / 取消: only the owner, only while scanned and live. */
  private decide(
    confirmToken: string,
    openid: string,
    now: number,
    change: (ticket: LoginTicket) => void,
  ): ConfirmOutcome {
    const ticket = this.byTag(tagOf(confirmToken));
    if (!ticket || !sameIdentifier(ticket.confirmToken, confirmToken)) return { result: 'unknown' };
    if (ticket.status !== 'scanned') return { result: 'wrong_status', status: ticket.status };
    if (now > ticket.expiresAt) return { result: 'expired' };
    if (ticket.openid !== openid) return { result: 'not_owner' };
    change(ticket);
    this.announce(ticket);
    return { result: 'done' };
  }

  private byTag(tag: string | null): LoginTicket | undefined {
    return tag ? this.tickets.get(tag) : undefined;
  }

  private announce(ticket: LoginTicket): void {
    this.changes.publish(ticketChangeId(ticket.ticketId));
  }
}
