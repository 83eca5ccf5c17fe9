/** What a login by a portal key without a name of its own (or before keys had names) is shown as. */
export const DEFAULT_PORTAL_NAME = '网上税务局';
