import Router from '@koa/router';
import { looksLikeMobileNumber } from '../accounts/personalNumbers';
import type { SmsOutbox } from './SmsOutbox';

/**
 * `GET /sandbox/sms?phone=P` → `{messages:[{phone, code, text, sentAt}]}`: the test aid that stands
 * in for the phone's SMS inbox. Mounted only when SANDBOX=1; it shows codes, so never in production.
 */
export function smsOutboxRoutes(outbox: SmsOutbox): Router {
  const router = new Router();
  router.get('/sandbox/sms', (ctx) => {
    const phone = ctx.query.phone;
    if (typeof phone !== 'string' || !looksLikeMobileNumber(phone)) {
      ctx.status = 400;
      ctx.body = { error: { code: 'invalid_phone', message: 'phone must be one mainland mobile number (11 digits)' } };
      return;
    }
    ctx.body = {
      messages: outbox
        .forPhone(phone)
        .map((m) => ({ phone: m.phone, code: m.code, text: m.text, sentAt: m.sentAt.toISOString() })),
    };
  });
  return router;
}
