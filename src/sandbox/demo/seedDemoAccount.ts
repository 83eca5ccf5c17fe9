import type { AccountService } from '../../accounts/AccountService';
import { AccountConflictError } from '../../accounts/AccountConflictError';
import { gb11643CheckCharacter } from '../../registration/gb11643';

/** The demo's taxpayer: a portal account with no WeChat bound yet, as in seed 1.3.2. */
export const DEMO_ACCOUNT = {
  realName: '张三',
  idNumber: `35010219900307123${gb11643CheckCharacter('35010219900307123')}`,
  phone: '13800138000',
  password: 'Fujian-2025',
};

/** Creates the demo account unless it already exists (the demo keeps its data between runs). */
export async function seedDemoAccount(accounts: AccountService): Promise<'created' | 'existing'> {
  try {
    await accounts.createAccount(DEMO_ACCOUNT);
    return 'created';
  } catch (error) {
    if (error instanceof AccountConflictError) return 'existing';
    throw error;
  }
}
