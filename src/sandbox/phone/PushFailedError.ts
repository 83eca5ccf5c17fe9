/**
 * The app's /wechat did not answer a push as WeChat expects (not 200, or a reply that does not
 * decrypt or verify). WeChat would retry and finally show nothing; the phone says what went wrong.
 */
export class PushFailedError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'PushFailedError';
  }
}
