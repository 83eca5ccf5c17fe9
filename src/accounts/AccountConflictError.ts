/** Which unique value of an account is already taken. */
export type AccountConflictField = 'loginName' | 'idNumber' | 'phone';

const LABELS: Record<AccountConflictField, string> = {
  loginName: 'login name',
  idNumber: 'ID number',
  phone: 'phone number',
};

/** An account could not be created because another one already holds `field`; callers word the message for their page. */
export class AccountConflictError extends Error {
  constructor(readonly field: AccountConflictField) {
    super(`an account with this ${LABELS[field]} already exists`);
    this.name = 'AccountConflictError';
  }
}
