import argon2 from 'argon2';

/** argon2id with OWASP's baseline (19 MiB, 2 passes, 1 lane): strong, yet cheap enough to verify 10 at once. */
export const ARGON2_PARAMETERS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * The hash of a random, forgotten password, with ARGON2_PARAMETERS: verifying against it costs what
 * verifying a real account costs, so an unknown account and a wrong password take the same time.
 * Regenerate it whenever ARGON2_PARAMETERS change (a test checks that they agree).
 */
export const DUMMY_PASSWORD_HASH =
  '$argon2id$v=19$m=19456,p=1,t=2$Jdy2aY9L9Ft0mx9yQSBCFw$oe2/NitFoaOzp5ob45i6eA6M6XiAvE2kHcPmJDsf1x8';

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_PARAMETERS);
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return argon2.verify(hash, password);
}

/** Spends the time of one verification and answers false: call it when the account does not exist. */
export async function verifyPasswordOfUnknownAccount(password: string): Promise<false> {
  await argon2.verify(DUMMY_PASSWORD_HASH, password);
  return false;
}
