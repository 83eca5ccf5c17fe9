import Router from '@koa/router';
import createHttpError from 'http-errors';
import type { Context } from 'koa';
import type { Clock } from '../clock/Clock';
import { jsonBody } from '../http/jsonBody';
import { REPORTED_CLIENT_PROPERTIES, reportedClient, type ReportedClient } from '../http/reportedClient';
import { validateBody } from '../http/validateBody';
import { requirePortalKey } from '../security/requirePortalKey';
import type { PortalKey } from '../security/PortalKey';
import { RESET_TTL_SECONDS, type PasswordChannel, type PasswordService } from './PasswordService';

const PASSWORD = { type: 'string', minLength: 1, maxLength: 128 } as const;

const readChangeBody = validateBody<{ currentPassword: string; newPassword: string } & ReportedClient>({
  type: 'object',
  properties: { currentPassword: PASSWORD, newPassword: PASSWORD, ...REPORTED_CLIENT_PROPERTIES },
  required: ['currentPassword', 'newPassword'],
  additionalProperties: false,
});
const readStartBody = validateBody<{ realName: string; idNumber: string } & ReportedClient>({
  type: 'object',
  properties: {
    realName: { type: 'string', minLength: 1, maxLength: 100 },
    idNumber: { type: 'string', minLength: 1, maxLength: 18 },
    ...REPORTED_CLIENT_PROPERTIES,
  },
  required: ['realName', 'idNumber'],
  additionalProperties: false,
});
const readVerifyBody = validateBody<{ smsCode: string }>({
  type: 'object',
  properties: { smsCode: { type: 'string', minLength: 1, maxLength: 16 } },
  required: ['smsCode'],
  additionalProperties: false,
});
const readNewPasswordBody = validateBody<{ newPassword: string } & ReportedClient>({
  type: 'object',
  properties: { newPassword: PASSWORD, ...REPORTED_CLIENT_PROPERTIES },
  required: ['newPassword'],
  additionalProperties: false,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const weakPassword = (message: string) => createHttpError(422, message, { code: 'weak_password' });
const resetNotFound = () =>
  createHttpError(404, 'no such password reset, or it has expired', { code: 'reset_not_found' });

/**
 * Portal API for passwords (portal key with the `password` scope):
 * `POST /api/accounts/:accountId/password` (修改密码) and the three steps of 忘记密码,
 * `POST /api/password-resets`, `…/:resetId/verify`, `…/:resetId/password`.
 */
export function passwordApiRoutes(deps: { passwords: PasswordService; portalKeys: PortalKey[]; clock: Clock }): Router {
  const router = new Router();
  const guard = [requirePortalKey(deps.portalKeys, 'password')];
  const portal = (ctx: Context): PasswordChannel => ({ via: 'portal', portal: ctx.state.portalKey!.name });

  router.post('/api/accounts/:accountId/password', ...guard, jsonBody(), async (ctx) => {
    const { currentPassword, newPassword, ...reported } = readChangeBody(ctx);
    const accountId = ctx.params.accountId!;
    if (!UUID.test(accountId)) throw createHttpError(404, 'no such account', { code: 'account_not_found' });
    const result = await deps.passwords.changePassword({
      accountId,
      currentPassword,
      newPassword,
      channel: portal(ctx),
      context: reportedClient(ctx, reported),
    });
    if (result.ok) {
      ctx.status = 204;
      return;
    }
    if (result.reason === 'too_many_attempts') {
      // This client failed too often on this account's current password; the account is not locked.
      throw createHttpError(429, 'too many failed attempts from this client: try again later', {
        code: 'too_many_attempts',
        headers: { 'Retry-After': String(result.retryAfterSeconds) },
      });
    }
    // An unknown account answers as a wrong password does: the key holder learns nothing more.
    if (result.reason === 'invalid_credentials')
      throw createHttpError(401, 'the current password is incorrect', { code: 'invalid_credentials' });
    throw weakPassword(result.message);
  });

  router.post('/api/password-resets', ...guard, jsonBody(), async (ctx) => {
    const { realName, idNumber, ...reported } = readStartBody(ctx);
    const started = await deps.passwords.startReset({
      realName,
      idNumber,
      channel: portal(ctx),
      context: reportedClient(ctx, reported),
    });
    if (!started.ok) {
      if (started.reason === 'too_many_attempts')
        throw createHttpError(429, 'too many password resets for this identity or client; try again later', {
          code: 'too_many_attempts',
          headers: { 'Retry-After': String(started.retryAfterSeconds) },
        });
      throw createHttpError(400, Object.values(started.errors).join(' '), { code: 'invalid_identity' });
    }
    ctx.status = 202;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { resetId: started.resetId, phoneMasked: started.phoneMasked, expiresIn: RESET_TTL_SECONDS };
  });

  router.post('/api/password-resets/:resetId/verify', ...guard, jsonBody(), async (ctx) => {
    const { smsCode } = readVerifyBody(ctx);
    const verdict = await deps.passwords.verifyCode(ctx.params.resetId!, smsCode);
    if (verdict === 'reset_expired') throw resetNotFound();
    if (verdict === 'invalid_code')
      throw createHttpError(400, 'the SMS code is wrong or no longer valid', { code: 'invalid_sms_code' });
    ctx.status = 204;
  });

  router.post('/api/password-resets/:resetId/password', ...guard, jsonBody(), async (ctx) => {
    const { newPassword, ...reported } = readNewPasswordBody(ctx);
    const done = await deps.passwords.completeReset({
      resetId: ctx.params.resetId!,
      password: newPassword,
      channel: portal(ctx),
      context: reportedClient(ctx, reported),
    });
    if (done.ok) {
      ctx.status = 204;
      return;
    }
    if (done.reason === 'weak_password') throw weakPassword(done.message);
    if (done.reason === 'not_verified')
      throw createHttpError(409, 'the SMS code of this reset has not been verified', { code: 'reset_not_verified' });
    throw resetNotFound();
  });

  return router;
}
