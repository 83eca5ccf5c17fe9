/** The SMS provider refused or could not be reached; the message names the provider's code, never the phone or the code. */
export class SmsDeliveryError extends Error {
  constructor(
    readonly providerCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SmsDeliveryError';
  }
}
