import Router from '@koa/router';
import createHttpError from 'http-errors';
import type { Clock } from '../clock/Clock';
import type { Config } from '../config/Config';
import { jsonBody } from '../http/jsonBody';
import { REPORTED_CLIENT_PROPERTIES, reportedClient, type ReportedClient } from '../http/reportedClient';
import { validateBody } from '../http/validateBody';
import { describeBrowser } from '../login/describeBrowser';
import type { LoginNoticeSender } from '../loginsafety/LoginNoticeSender';
import { noticeAfterAnswer } from '../loginsafety/noticeAfterAnswer';
import { requirePortalKey } from '../security/requirePortalKey';
import type { AccountService } from './AccountService';

const readAuthenticateBody = validateBody<{ loginName: string; password: string } & ReportedClient>({
  type: 'object',
  properties: {
    loginName: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: 1, maxLength: 128 },
    ...REPORTED_CLIENT_PROPERTIES,
  },
  required: ['loginName', 'password'],
  additionalProperties: false,
});

/** Portal API for accounts: `POST /api/accounts/authenticate` (portal key). */
export function accountRoutes(deps: {
  accounts: AccountService;
  config: Config;
  clock: Clock;
  loginNotices: LoginNoticeSender | null;
}): Router {
  const router = new Router();

  const key = requirePortalKey(deps.config.portal.keys, 'authenticate');
  router.post('/api/accounts/authenticate', key, jsonBody(), async (ctx) => {
    const { loginName, password, ...reported } = readAuthenticateBody(ctx);
    // Audited with the taxpayer's browser when the portal reports it (as it does for tickets).
    const client = reportedClient(ctx, reported);
    const portal = ctx.state.portalKey!;
    const result = await deps.accounts.authenticate(loginName, password, { ...client, portal: portal.name });
    if (result.ok) {
      ctx.body = { account: deps.accounts.toPublic(result.account) };
      noticeAfterAnswer(ctx, deps.loginNotices, {
        accountId: result.account.id,
        method: 'password',
        // The taxpayer reads the portal's display name; audit rows keep its key's name.
        portal: portal.displayName,
        at: deps.clock.now(),
        computerIp: client.ip,
        browser: describeBrowser(client.userAgent),
      });
      return;
    }
    if (result.reason === 'too_many_attempts') {
      // Nothing was checked, and the same holds for an unknown login name: no account is named or locked.
      throw createHttpError(429, 'too many failed logins from this client for this login name: try again later', {
        code: 'too_many_attempts',
        headers: { 'Retry-After': String(result.retryAfterSeconds) },
      });
    }
    // One answer for an unknown account and a wrong password.
    throw createHttpError(401, 'login name or password is incorrect', { code: 'invalid_credentials' });
  });

  return router;
}
