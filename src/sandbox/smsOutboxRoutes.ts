import Router from '@koa/router';
import { looksLikeMobileNumber } from '../accounts/personalNumbers';
import { publicHostOnly } from './phone/sameOriginOnly';
import type { SmsOutbox } from './SmsOutbox';

/**
 * `GET /sandbox/sms?phone=P` → `{messages:[{phone, code, text, sentAt}]}`: the test aid that stands
 * in for the phone's SMS inbox. Mounted only when SANDBOX=1; it shows codes, so never in production,
 * and only to requests addressed to PUBLIC_URL's host name (no DNS-rebinding page reads it).
 */
export function smsOutboxRoutes(outbox: SmsOutbox, publicUrl: string): Router {
  const router = new Router();
  router.get('/sandbox/sms', publicHostOnly(publicUrl), (ctx) => {
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
