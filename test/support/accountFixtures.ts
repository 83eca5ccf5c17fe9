import type { Account } from '../../src/accounts/Account';
import type { NewAccount } from '../../src/accounts/AccountService';
import type { Dependencies } from '../../src/dependencies';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = '10X98765432';

/** The GB 11643 check character of the first 17 digits of an ID number. */
export function gb11643CheckCharacter(first17: string): string {
  const sum = WEIGHTS.reduce((total, weight, i) => total + weight * Number(first17[i]), 0);
  return CHECK_CHARACTERS[sum % 11]!;
}

// Distinct numbers across the run (tables are emptied between tests, but one test may create several).
let serial = 0;

/**
 * A valid ID number of 福州市鼓楼区 (350102) with a real birth date and a correct check character,
 * different on every call; `endsWithX` picks one whose check character is X.
 */
export function uniqueIdNumber(options: { endsWithX?: boolean } = {}): string {
  for (;;) {
    serial += 1;
    const birth = new Date(Date.UTC(1980, 0, 1) + Math.floor(serial / 1000) * 86_400_000);
    const first17 = `350102${birth.toISOString().slice(0, 10).replaceAll('-', '')}${String(serial % 1000).padStart(3, '0')}`;
    const check = gb11643CheckCharacter(first17);
    if (!options.endsWithX || check === 'X') return first17 + check;
  }
}

/** A mainland mobile number, different on every call. */
export function uniquePhone(): string {
  serial += 1;
  return `138${String(serial).padStart(8, '0')}`;
}

export interface TestAccount {
  account: Account;
  password: string;
  idNumber: string;
  phone: string;
}

/**
 * Creates an account through AccountService (so it is stored exactly as production stores it) and
 * returns it with its plain password, ID number and phone. Without `loginName` it has none.
 */
export async function createTestAccount(
  deps: Pick<Dependencies, 'accounts'>,
  overrides: Partial<NewAccount> = {},
): Promise<TestAccount> {
  const input: NewAccount = {
    realName: '张三',
    idNumber: uniqueIdNumber(),
    phone: uniquePhone(),
    password: 'Fj-tax-2025!',
    ...overrides,
  };
  const account = await deps.accounts.createAccount(input);
  return { account, password: input.password, idNumber: input.idNumber, phone: input.phone };
}
