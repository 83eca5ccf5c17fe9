/** A chosen login name that could carry an ID or mobile number; they log in through their indexes instead. */
export class LoginNameRefusedError extends Error {
  constructor() {
    super('a login name may hold at most 10 digits: ID and mobile numbers are stored only encrypted');
    this.name = 'LoginNameRefusedError';
  }
}
