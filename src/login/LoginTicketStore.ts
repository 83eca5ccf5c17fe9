import type { LoginTicket, StoredTicketStatus } from './LoginTicket';

export type ScanOutcome =
  | { result: 'scanned'; ticket: LoginTicket }
  | { result: 'needs_binding' }
  | { result: 'in_use' }
  | { result: 'owned'; ticket: LoginTicket }
  | { result: 'expired' }
  | { result: 'unknown' };

export type ConfirmOutcome =
  | { result: 'done' }
  | { result: 'not_owner' }
  | { result: 'wrong_status'; status: StoredTicketStatus }
  | { result: 'expired' }
  | { result: 'unknown' };

export type RedeemOutcome =
  | { result: 'redeemed'; openid: string; accountId: string }
  | { result: 'already_redeemed' }
  | { result: 'not_confirmed' }
  | { result: 'expired' }
  | { result: 'unknown' };

/**
 * Login tickets; every transition is one atomic compare-and-set, and each change is announced so
 * that long-polls on any instance wake (see TicketChangeHub).
 */
export interface LoginTicketStore {
  create(ticket: LoginTicket): Promise<void>;
  byTicketId(ticketId: string): Promise<LoginTicket | null>;
  byConfirmToken(confirmToken: string): Promise<LoginTicket | null>;
  /** A scan by `openid`; `accountId` is the account it is bound to, or null for an unbound WeChat. */
  scan(sceneStr: string, openid: string, accountId: string | null, now: number): Promise<ScanOutcome>;
  confirm(confirmToken: string, openid: string, now: number): Promise<ConfirmOutcome>;
  cancel(confirmToken: string, openid: string, now: number): Promise<ConfirmOutcome>;
  /** Redeems for `portal` (a key name): another portal's ticket answers unknown and stays as it is. */
  redeem(ticketId: string, portal: string, now: number): Promise<RedeemOutcome>;
  /**
   * Cancels every ticket `openid` scanned that is still scanned or confirmed (its WeChat was
   * unbound), announcing each; returns those it cancelled.
   */
  endOwnedBy(openid: string): Promise<LoginTicket[]>;
}
