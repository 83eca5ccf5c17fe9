import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import { accountRoutes } from './accounts/accountRoutes';
import path from 'node:path';
import { bindingApiRoutes } from './binding/bindingApiRoutes';
import { BindFlow } from './binding/BindFlow';
import { bindRoutes } from './binding/bindRoutes';
import { BindingService } from './binding/BindingService';
import type { IdentityVerifier } from './registration/IdentityVerifier';
import { registerRoutes } from './registration/registerRoutes';
import { forgotPasswordRoutes } from './password/forgotPasswordRoutes';
import { passwordApiRoutes } from './password/passwordApiRoutes';
import { RegistrationFlow } from './registration/RegistrationFlow';
import { RegistrationService } from './registration/RegistrationService';
import { FACEID_SANDBOX_PATH, SIMULATOR_PATH, type Dependencies } from './dependencies';
import { H5Renderer } from './h5/H5Renderer';
import { h5Pipeline } from './h5/h5Pipeline';
import { confirmRoutes } from './login/confirmRoutes';
import { loginApiRoutes } from './login/loginApiRoutes';
import { TicketCreationLimiter } from './login/TicketCreationLimiter';
import { SmsSubjectDigest } from './sms/SmsSubjectDigest';
import { LongPollGate } from './login/LongPollGate';
import { referencePortalFor } from './portal/referencePortal';
import { referenceRelyingPartyFor } from './relyingParty/referenceRelyingParty';
import { healthRoutes } from './health/healthRoutes';
import { errorHandler } from './http/errorHandler';
import { requestContext } from './http/requestContext';
import { securityHeaders } from './http/securityHeaders';
import { FormAttemptLimiter } from './security/FormAttemptLimiter';
import { metricsRoutes } from './observability/metricsRoutes';
import { smsOutboxRoutes } from './sandbox/smsOutboxRoutes';
import { phoneSandbox } from './sandbox/phone/phoneSandbox';
import { EventRouter } from './wechat/EventRouter';
import { wechatEndpoint } from './wechat/wechatEndpoint';
import { interactionRoutes } from './oidc/interactionRoutes';
import { OIDC_PATH, providerCookies } from './oidc/oidcProvider';
import { LoginHistory } from './loginsafety/LoginHistory';
import { loginHistoryRoutes } from './loginsafety/loginHistoryRoutes';

export interface AppOptions {
  /** Passed to the WeChat endpoint; tests shorten it. */
  replyDeadlineMs?: number;
  /** 实名注册's identity check; default the one IDENTITY_VERIFIER names (see docs/registration.md). */
  identityVerifier?: IdentityVerifier;
}

/** Wires the capabilities onto one Koa app; holds no logic of its own. */
export function createApp(deps: Dependencies, options: AppOptions = {}): Koa {
  const { config } = deps;
  // maxIpsCount keeps only the entries our own proxies appended: Koa's ctx.ip is then the first of
  // them, the address the outermost trusted proxy saw, whatever the client wrote to the left.
  const app = new Koa({ proxy: config.trustProxy > 0, maxIpsCount: config.trustProxy });
  app.use(requestContext(deps.logger, deps.metrics));
  // Before anything that answers, so every answer (errors and 404s too) carries them.
  app.use(securityHeaders({ publicUrl: config.publicUrl }));
  app.use(errorHandler(deps.logger));

  if (deps.simulator) app.use(mount(SIMULATOR_PATH, deps.simulator.app));
  if (deps.faceid) app.use(mount(FACEID_SANDBOX_PATH, deps.faceid.app));
  if (deps.oidc) {
    app.use(
      interactionRoutes({
        ...deps.oidc,
        webOAuth: deps.webOAuth,
        bindings: deps.bindings,
        audit: deps.audit,
        login: deps.login,
        accounts: deps.accounts,
        captcha: deps.captcha,
        loginNotices: deps.loginNotices,
        clock: deps.clock,
        publicUrl: config.publicUrl,
        sandbox: config.sandbox,
        projectRoot: deps.projectRoot,
      }),
    );
    app.use(mount(OIDC_PATH, providerCookies(deps.oidc.provider)));
    app.use(mount(OIDC_PATH, deps.oidc.provider));
  }
  // The sandbox phone: plays a WeChat user of the simulator against this app's /wechat.
  if (config.sandbox && deps.simulator) {
    app.use(
      phoneSandbox({
        config,
        clock: deps.clock,
        simulator: deps.simulator,
        simulatorPath: SIMULATOR_PATH,
        smsOutbox: deps.smsOutbox,
        projectRoot: deps.projectRoot,
      }),
    );
  }
  // The reference portal: only with PORTAL_DEMO=1; it calls the API below over HTTP.
  if (config.portal.demo) app.use(referencePortalFor(deps));
  // The second reference site: logs in only through the OpenID Connect provider.
  const relyingParty = config.portal.demo ? referenceRelyingPartyFor(deps) : null;
  if (relyingParty) app.use(relyingParty);

  const oidc = deps.oidc;
  const bindingService = new BindingService({
    db: deps.db,
    audit: deps.audit,
    clock: deps.clock,
    logger: deps.logger,
    maxBindingsPerAccount: config.maxBindingsPerAccount,
    changes: deps.boundAccounts,
    logins: deps.login,
    ...(oidc ? { onUnbound: (accountId: string) => oidc.logout.logoutAccount(accountId) } : {}),
  });

  const router = new Router();
  router.use(healthRoutes({ db: deps.db, redis: deps.redis, metricsToken: config.metricsToken }).routes());
  router.use(
    metricsRoutes({
      metrics: deps.metrics,
      token: config.metricsToken,
      production: config.nodeEnv === 'production',
    }).routes(),
  );
  if (config.sandbox && deps.smsOutbox) router.use(smsOutboxRoutes(deps.smsOutbox, config.publicUrl).routes());
  router.use(accountRoutes(deps).routes());
  const ticketLimiter = new TicketCreationLimiter(
    deps.rateLimiter,
    new SmsSubjectDigest(config.dataKey),
    config.portal.ticketLimits,
  );
  router.use(
    passwordApiRoutes({ passwords: deps.passwords, portalKeys: config.portal.keys, clock: deps.clock }).routes(),
  );
  router.use(
    loginApiRoutes(
      deps.login,
      config.portal,
      ticketLimiter,
      deps.loginNotices,
      new LongPollGate(config.longPoll),
    ).routes(),
  );
  router.use(
    bindingApiRoutes({
      accounts: deps.accounts,
      bindings: deps.bindings,
      bindingService,
      wechatApi: deps.wechatApi,
      templates: deps.templates,
      logger: deps.logger,
      portalKeys: config.portal.keys,
    }).routes(),
  );
  const wechat = wechatEndpoint({
    token: config.wechat.token,
    appId: config.wechat.appId,
    ciphers: deps.ciphers,
    maxSkewSeconds: config.wechat.maxSkewSeconds,
    clock: deps.clock,
    messageMode: config.wechat.messageMode,
    nonces: deps.stores.pushNonces,
    router: new EventRouter({
      templates: deps.templates,
      scenes: deps.scenes,
      bindings: deps.bindings,
      logger: deps.logger,
    }),
    dedupe: deps.dedupe,
    templates: deps.templates,
    metrics: deps.metrics,
    ...(options.replyDeadlineMs !== undefined ? { replyDeadlineMs: options.replyDeadlineMs } : {}),
  });
  router.all('/wechat', wechat);
  app.use(router.routes());
  app.use(router.allowedMethods());

  const attempts = new FormAttemptLimiter(deps.rateLimiter, config.dataKey);
  const renderer = new H5Renderer(path.join(deps.projectRoot, 'templates'), { assets: '/h5/static' });

  const registration = new RegistrationService({
    db: deps.db,
    accounts: deps.accounts,
    bindingService,
    audit: deps.audit,
    protector: deps.protector,
    logger: deps.logger,
    verifier: options.identityVerifier ?? deps.identityVerifier,
  });
  app.use(
    h5Pipeline({
      publicUrl: config.publicUrl,
      sessionSecret: config.sessionSecret,
      sandbox: config.sandbox,
      projectRoot: deps.projectRoot,
      clock: deps.clock,
      renderer,
      sessions: deps.sessions,
      webOAuth: deps.webOAuth,
      oauthClaims: deps.oauthClaims,
      captcha: deps.captcha,
      pages: [
        confirmRoutes(deps.login, renderer, deps.regions),
        bindRoutes({
          renderer,
          flow: new BindFlow({
            accounts: deps.accounts,
            bindings: deps.bindings,
            bindingService,
            captcha: deps.captcha,
            smsStep: deps.smsStep,
            smsCodes: deps.smsCodes,
            audit: deps.audit,
            wechatApi: deps.wechatApi,
            templates: deps.templates,
            clock: deps.clock,
            logger: deps.logger,
            attempts,
          }),
        }),
        loginHistoryRoutes({
          renderer,
          history: new LoginHistory(deps.audit, deps.regions, config.portal.keys),
          accounts: deps.accounts,
          bindings: deps.bindings,
          bindingService,
          wechatApi: deps.wechatApi,
          templates: deps.templates,
          logger: deps.logger,
        }),
        registerRoutes({
          renderer,
          flow: new RegistrationFlow({
            accounts: deps.accounts,
            bindings: deps.bindings,
            registration,
            smsStep: deps.smsStep,
            smsCodes: deps.smsCodes,
            audit: deps.audit,
            wechatApi: deps.wechatApi,
            templates: deps.templates,
            clock: deps.clock,
            logger: deps.logger,
            attempts,
          }),
        }),
        forgotPasswordRoutes({ renderer, passwords: deps.passwords, smsStep: deps.smsStep, attempts }),
      ],
    }),
  );
  return app;
}
