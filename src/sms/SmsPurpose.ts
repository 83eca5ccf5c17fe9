/** What an SMS code is for; a code is valid only for the purpose it was sent for. */
export type SmsPurpose = 'bind' | 'register' | 'password_reset';

export const SMS_PURPOSES: readonly SmsPurpose[] = ['bind', 'register', 'password_reset'];

export function isSmsPurpose(value: unknown): value is SmsPurpose {
  return typeof value === 'string' && (SMS_PURPOSES as readonly string[]).includes(value);
}
