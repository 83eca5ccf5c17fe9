import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
import type { SmsOutbox } from '../sandbox/SmsOutbox';
import { maskPhone } from '../security/masking';
import type { SmsMessage, SmsSender } from './SmsSender';

/**
 * Development and sandbox: sends nothing. It logs one line with the phone masked and never the
 * code (logs are shipped and kept); in the sandbox the code reaches the tester through the outbox.
 */
export class ConsoleSmsSender implements SmsSender {
  constructor(private readonly options: { logger: Logger; clock: Clock; outbox?: SmsOutbox | null }) {}

  send(message: SmsMessage): Promise<void> {
    this.options.logger.info(
      { phone: maskPhone(message.phone), purpose: message.purpose, kind: message.kind },
      'sms not sent (console sender)',
    );
    this.options.outbox?.add({
      phone: message.phone,
      code: message.kind === 'code' ? message.code : null,
      text: message.text,
      sentAt: new Date(this.options.clock.now()),
    });
    return Promise.resolve();
  }
}
