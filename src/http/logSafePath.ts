/**
 * The path as a log line may show it: a login ticket's identifier (`/api/login/tickets/<ticketId>`,
 * the PC browser's bearer secret) is cut to its 16-hex slot tag, which tells the lines of one
 * ticket apart without being usable (ASVS V16.2.5). Query strings are never logged at all.
 */
export function logSafePath(path: string): string {
  return path.replace(/(^|\/)([0-9a-f]{16})[0-9a-f]{32}(?=\/|$)/g, '$1$2…');
}
