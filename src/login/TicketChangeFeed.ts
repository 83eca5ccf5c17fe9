import { createHash } from 'node:crypto';

/**
 * The stream of login-ticket changes every transition announces, from whichever instance made it.
 * A change is named by the SHA-1 (hex) of its ticketId, never the ticketId itself (the browser's
 * bearer secret). TicketChangeHub starts one feed per process and wakes its long-polls from it.
 */
export interface TicketChangeFeed {
  /** Starts delivering changes to `onChange`; resolves once no later change can be missed. */
  start(onChange: (ticketIdSha1: string) => void): Promise<void>;
  stop(): Promise<void>;
}

/** How a change of `ticketId` is named on the feed. */
export function ticketChangeId(ticketId: string): string {
  return createHash('sha1').update(ticketId).digest('hex');
}
