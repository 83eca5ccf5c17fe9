import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The three secrets of a ticket: ticketId (the portal browser's bearer secret), sceneStr (its scan
 * key: the QR scene pool maps a scan of the leased QR onto it, see QrScenePool) and confirmToken (in
 * the phone's link). Each carries 128 bits
 * of its own randomness after a shared 64-bit slot tag, so all of a ticket's keys share one Redis
 * Cluster hash slot and any of the three leads to the ticket without a second key.
 */
export interface TicketIdentifiers {
  tag: string;
  ticketId: string;
  sceneStr: string;
  confirmToken: string;
}

export const SCENE_PREFIX = 'login_';
const TAG = /^[0-9a-f]{16}/;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export function newTicketIdentifiers(): TicketIdentifiers {
  const tag = hex(8);
  return { tag, ticketId: tag + hex(16), sceneStr: SCENE_PREFIX + tag + hex(16), confirmToken: tag + hex(16) };
}

/**
 * The scene of a new login QR code: not tied to any ticket, since the pool leases it to many in
 * turn. Not a secret (the lease decides which ticket a scan is for), only unique: 96 random bits, and
 * short, because the pool stores it three times a scene.
 */
export function newLoginScene(): string {
  return SCENE_PREFIX + hex(12);
}

/** The slot tag inside an identifier, or null for anything that is not one of ours. */
export function tagOf(identifier: string): string | null {
  if (!/^[0-9a-f]{48}$/.test(identifier)) return null;
  return TAG.exec(identifier)![0];
}

export function tagOfScene(sceneStr: string): string | null {
  return sceneStr.startsWith(SCENE_PREFIX) ? tagOf(sceneStr.slice(SCENE_PREFIX.length)) : null;
}

/**
 * Compares a stored identifier with a presented one in constant time, so the comparison's timing
 * says nothing about how much of a guess was right. Lengths may differ in time: every identifier's
 * length is public (fixed by its format).
 */
export function sameIdentifier(stored: string | undefined, presented: string): boolean {
  if (stored === undefined) return false;
  const a = Buffer.from(stored);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
