import { createHash } from 'node:crypto';

/** What a store keys a session by: a SHA-256 of its id, so reading the store yields no usable cookie. */
export const sessionIdHash = (id: string): string => createHash('sha256').update(id).digest('hex');
