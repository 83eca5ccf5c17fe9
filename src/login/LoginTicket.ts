/** Stored states of a QR login ticket; `expired` is never stored, it is read from the clock. */
export type StoredTicketStatus = 'pending' | 'needs_binding' | 'scanned' | 'confirmed' | 'cancelled' | 'redeemed';
export type TicketStatus = StoredTicketStatus | 'expired';

export const TICKET_STATUSES: readonly TicketStatus[] = [
  'pending',
  'needs_binding',
  'scanned',
  'confirmed',
  'cancelled',
  'redeemed',
  'expired',
];

export interface LoginTicket {
  ticketId: string;
  /** The ticket's scan key: a scan of its QR's scene resolves to it while the lease lasts. */
  sceneStr: string;
  /** The scene of the pooled QR code leased to this ticket (what the QR carries). */
  qrScene?: string;
  confirmToken: string;
  status: StoredTicketStatus;
  createdAt: number;
  expiresAt: number;
  /**
   * The PC that asked for the QR code, as the portal reported it: its IP, and its browser as the
   * phone's confirm page names it (describeBrowser: `Windows 上的 Chrome 浏览器`). The short name, not the
   * User-Agent, is kept: every field of the Redis hash then stays within 64 bytes, which keeps the
   * hash in Redis's compact listpack encoding (under 1 KiB a ticket; see BENCHMARKS.md). The QR's
   * own ticket and content are handed to the portal once, at creation, and never read again.
   */
  clientIp: string;
  browser: string;
  /** The display name of the site that asked for the login (a portal, or an OpenID Connect client), shown on the phone. */
  portal?: string;
  /** The bound WeChat user that scanned first (the ticket's owner), and its account. */
  openid?: string;
  accountId?: string;
  scannedAt?: number;
  confirmedAt?: number;
}

/**
 * How long a confirmed login stays redeemable even past the QR's expiry: the portal redeems on its
 * next poll, and a login the taxpayer confirmed must not be lost to a race with the clock.
 */
export const CONFIRMED_GRACE_MS = 120_000;

/** How long a store keeps a ticket past its expiry, so a late poll still learns "expired" rather than "unknown". */
export const KEEP_AFTER_EXPIRY_MS = 10 * 60_000;

/** The status as the portal and the phone see it now. */
export function currentStatus(ticket: LoginTicket, now: number): TicketStatus {
  if (ticket.status === 'redeemed' || ticket.status === 'cancelled') return ticket.status;
  if (ticket.status === 'confirmed') {
    return now <= Math.max(ticket.expiresAt, (ticket.confirmedAt ?? 0) + CONFIRMED_GRACE_MS) ? 'confirmed' : 'expired';
  }
  return now > ticket.expiresAt ? 'expired' : ticket.status;
}
