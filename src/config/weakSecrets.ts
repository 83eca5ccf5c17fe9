/**
 * Secrets a production start refuses: the placeholders of .env.example and values anyone could
 * guess. Each check names the variable and why, never the value.
 */

// Words of placeholders and hand-made values (.env.example's "change me", test and demo values).
const PLACEHOLDER_WORDS = /change-?me|example|placeholder|dummy|sample|default|secret|password|test|demo/i;
const RUN_LENGTH = 6;

/** Length × Shannon entropy of the characters (or bytes): an upper bound of what a guesser must try, in bits. */
export function estimatedBits(symbols: ArrayLike<string | number>): number {
  const counts = new Map<string | number, number>();
  for (let i = 0; i < symbols.length; i++) counts.set(symbols[i]!, (counts.get(symbols[i]!) ?? 0) + 1);
  let perSymbol = 0;
  for (const count of counts.values()) {
    const p = count / symbols.length;
    perSymbol -= p * Math.log2(p);
  }
  return perSymbol * symbols.length;
}

/** A run of RUN_LENGTH repeated or consecutive characters ("000000", "abcdef", "012345"). */
function hasRun(value: string): boolean {
  let repeated = 1;
  let ascending = 1;
  for (let i = 1; i < value.length; i++) {
    const step = value.charCodeAt(i) - value.charCodeAt(i - 1);
    repeated = step === 0 ? repeated + 1 : 1;
    ascending = step === 1 ? ascending + 1 : 1;
    if (repeated >= RUN_LENGTH || ascending >= RUN_LENGTH) return true;
  }
  return false;
}

/** Why `value` is not fit as a production secret of at least `minBits`, or null when it is. */
export function weakSecretReason(value: string, minBits: number, bytes?: Buffer): string | null {
  if (PLACEHOLDER_WORDS.test(value)) return 'is a placeholder (it contains a word such as change-me, example or test)';
  if (hasRun(value)) return 'is guessable (it contains a run of repeated or consecutive characters)';
  if (estimatedBits(bytes ?? Array.from(value)) < minBits) return `is guessable (under ${minBits} bits of entropy)`;
  return null;
}
