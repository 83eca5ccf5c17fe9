import type { AccountService, PublicAccount } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { BoundAccountCache } from '../binding/BoundAccountCache';
import type { Clock } from '../clock/Clock';
import type { ClientContext } from '../http/clientContext';
import type { Metrics } from '../observability/Metrics';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { text, type Reply } from '../wechat/Reply';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import type { SceneScan } from '../wechat/SceneRegistry';
import { describeBrowser } from './describeBrowser';
import { currentStatus, type LoginTicket, type TicketStatus } from './LoginTicket';
import type { ConfirmOutcome, LoginTicketStore } from './LoginTicketStore';
import type { QrScenePool } from './QrScenePool';
import { newTicketIdentifiers } from './ticketIdentifiers';
import type { TicketChangeHub } from './TicketChangeHub';

export interface LoginServiceOptions {
  store: LoginTicketStore;
  hub: TicketChangeHub;
  /** Where tickets get their QR codes: leased scenes of long-lived QR codes. */
  qrPool: QrScenePool;
  wechatApi: WeChatApiClient;
  /** Which account a scanning openid is bound to (cached: this is the hot path of every scan). */
  boundAccounts: Pick<BoundAccountCache, 'accountIdFor'>;
  accounts: AccountService;
  audit: AuditLog;
  templates: ReplyTemplates;
  clock: Clock;
  ttlSeconds: number;
  publicUrl: string;
  /** Counts transitions, refused actions and held long-polls. */
  metrics?: Metrics;
}

export interface CreatedTicket {
  ticketId: string;
  qrcodeUrl: string;
  qrContent: string;
  expiresAt: string;
  expiresIn: number;
}

/** What a poll may see: never anything personal. */
export interface TicketView {
  ticketId: string;
  status: TicketStatus;
  expiresAt: string;
}

export type RedeemResult =
  | {
      ok: true;
      account: PublicAccount;
      openid: string;
      /** The computer that asked for the ticket, as its portal reported it (IP, browser's short name). */
      computer: { ip: string; browser: string };
      redeemedAt: number;
    }
  | { ok: false; reason: 'unknown' | 'not_confirmed' | 'already_redeemed' | 'expired' };

/** 微信扫码登录: tickets for the portal, scans from WeChat, the phone's 确定登录 / 取消. */
export class LoginService {
  constructor(private readonly options: LoginServiceOptions) {}

  async createTicket(client: { clientIp: string; userAgent: string }): Promise<CreatedTicket> {
    const { wechatApi, store, clock, ttlSeconds, qrPool } = this.options;
    const ids = newTicketIdentifiers();
    const createdAt = clock.now();
    const expiresAt = createdAt + ttlSeconds * 1000;
    const qr = await qrPool.lease({ ticketKey: ids.sceneStr, startedAt: createdAt, endsAt: expiresAt });
    const ticket: LoginTicket = {
      ticketId: ids.ticketId,
      sceneStr: ids.sceneStr,
      qrScene: qr.scene,
      confirmToken: ids.confirmToken,
      status: 'pending',
      createdAt,
      expiresAt,
      clientIp: client.clientIp,
      browser: describeBrowser(client.userAgent),
    };
    await store.create(ticket);
    this.options.metrics?.ticketTransition('pending');
    return {
      ticketId: ticket.ticketId,
      qrcodeUrl: wechatApi.qrCodeImageUrl(qr.qrTicket),
      qrContent: qr.qrUrl,
      expiresAt: new Date(ticket.expiresAt).toISOString(),
      expiresIn: ttlSeconds,
    };
  }

  async view(ticketId: string): Promise<TicketView | null> {
    const ticket = await this.options.store.byTicketId(ticketId);
    return ticket ? this.toView(ticket) : null;
  }

  /**
   * Long-poll: answers as soon as the status differs from `baseline` (the current one when none is
   * given), when the ticket expires, or after waitMs. Changes made on any instance wake it. Once
   * `abandoned` aborts (the client left) it stops waiting and answers null: nobody reads the answer.
   */
  async waitForChange(
    ticketId: string,
    baseline: TicketStatus | undefined,
    waitMs: number,
    abandoned?: AbortSignal,
  ): Promise<TicketView | null> {
    const { hub } = this.options;
    const held = this.options.metrics?.longPollStarted();
    const giveUpAt = Date.now() + waitMs;
    let expected = baseline;
    let stopListening: (() => void) | undefined;
    const onAbandoned = () => stopListening?.();
    abandoned?.addEventListener('abort', onAbandoned, { once: true });
    try {
      for (;;) {
        if (abandoned?.aborted) return null;
        const remaining = giveUpAt - Date.now();
        const listening = hub.listen(ticketId, remaining);
        stopListening = () => listening.cancel();
        const step = await this.answerOrWait(ticketId, expected, remaining, listening.cancel);
        if (step.answer !== undefined) {
          listening.cancel();
          return step.answer;
        }
        expected = step.expected;
        // Only `expected` and `listening` are kept while the poll is held (10,000 polls may be held at once).
        await listening.changed;
        if (abandoned?.aborted) return null;
        // At shutdown the hub releases every poll: answer with the current status, do not wait again.
        if (Date.now() >= giveUpAt || hub.draining) return await this.view(ticketId);
      }
    } finally {
      abandoned?.removeEventListener('abort', onAbandoned);
      held?.();
    }
  }

  /** The answer to a poll now (the ticket is gone, changed, or time is up), or the status to wait on. */
  private async answerOrWait(
    ticketId: string,
    expected: TicketStatus | undefined,
    remaining: number,
    wake: () => void,
  ): Promise<{ answer: TicketView | null; expected?: undefined } | { answer?: undefined; expected: TicketStatus }> {
    const ticket = await this.options.store.byTicketId(ticketId);
    if (!ticket) return { answer: null };
    const view = this.toView(ticket);
    if ((expected !== undefined && view.status !== expected) || remaining <= 0) return { answer: view };
    // A live ticket turns `expired` by the clock, not by an event: wake at its expiry too.
    const untilExpiry = ['pending', 'needs_binding', 'scanned'].includes(view.status)
      ? ticket.expiresAt - this.options.clock.now() + 1
      : Infinity;
    if (untilExpiry < remaining) setTimeout(wake, Math.max(0, untilExpiry)).unref();
    return { expected: view.status };
  }

  /** `portal`: the name of the portal redeeming (its key's), for the audit log. */
  async redeem(ticketId: string, client: ClientContext, portal: string): Promise<RedeemResult> {
    const { store, accounts, clock } = this.options;
    // The account is read BEFORE the ticket is spent: with MySQL down the portal gets a 503 and the
    // confirmed login stays redeemable (within its grace period) instead of being lost.
    const before = await store.byTicketId(ticketId);
    const prefetched =
      before?.accountId && currentStatus(before, clock.now()) === 'confirmed'
        ? await accounts.findById(before.accountId)
        : null;
    const redeemedAt = clock.now();
    const outcome = await store.redeem(ticketId, redeemedAt);
    if (outcome.result !== 'redeemed') {
      this.options.metrics?.ticketRejection('redeem', outcome.result);
      return { ok: false, reason: outcome.result };
    }
    this.options.metrics?.ticketTransition('redeemed');
    if (before) await this.endLease(before);
    const account = prefetched?.id === outcome.accountId ? prefetched : await accounts.findById(outcome.accountId);
    // Spent now: a failing audit write must not withhold the login; the event then goes to the log.
    // The row's IP is the portal's server; the computer that logs in is the one that asked for the QR.
    const computer = { ip: before?.clientIp ?? '', browser: before?.browser ?? '' };
    await this.options.audit.recordOrLog({
      type: 'login_redeemed',
      accountId: outcome.accountId,
      openid: outcome.openid,
      ...client,
      detail: { portal, computerIp: computer.ip, browser: computer.browser },
    });
    if (!account) return { ok: false, reason: 'unknown' };
    return { ok: true, account: this.options.accounts.toPublic(account), openid: outcome.openid, computer, redeemedAt };
  }

  /** The scene handler for `login_…`: a scan by SCAN or by subscribe with qrscene_. */
  async onScan(scan: SceneScan): Promise<Reply> {
    const { store, boundAccounts, clock, templates, audit, qrPool } = this.options;
    const ticketKey = await qrPool.resolve(scan.scene, scan.scannedAt ?? clock.now());
    if (!ticketKey) {
      this.options.metrics?.ticketRejection('scan', 'not_leased');
      return text(templates.render('qr-expired'));
    }
    const accountId = await boundAccounts.accountIdFor(scan.openid);
    const outcome = await store.scan(ticketKey, scan.openid, accountId, clock.now());
    if (outcome.result === 'scanned' || outcome.result === 'needs_binding')
      this.options.metrics?.ticketTransition(outcome.result);
    else this.options.metrics?.ticketRejection('scan', outcome.result);
    switch (outcome.result) {
      case 'scanned':
        await audit.record({
          type: 'login_scanned',
          accountId: accountId!,
          openid: scan.openid,
          detail: { viaSubscribe: scan.viaSubscribe },
        });
        return text(templates.render('login-confirm', { confirmUrl: this.confirmUrl(outcome.ticket) }));
      case 'needs_binding':
        return text(templates.render('login-needs-binding'));
      case 'in_use':
        return text(templates.render('login-in-use'));
      case 'owned': {
        const status = currentStatus(outcome.ticket, clock.now());
        if (status === 'scanned')
          return text(templates.render('login-confirm', { confirmUrl: this.confirmUrl(outcome.ticket) }));
        return text(templates.render(status === 'expired' ? 'qr-expired' : 'login-used'));
      }
      default:
        return text(templates.render('qr-expired'));
    }
  }

  /** The ticket behind a confirm link, when `openid` may act on it. */
  async ticketForConfirmation(
    confirmToken: string,
  ): Promise<{ ticket: LoginTicket; status: TicketStatus; account: PublicAccount | null } | null> {
    const ticket = await this.options.store.byConfirmToken(confirmToken);
    if (!ticket) return null;
    const account = ticket.accountId ? await this.options.accounts.findById(ticket.accountId) : null;
    return {
      ticket,
      status: currentStatus(ticket, this.options.clock.now()),
      account: account ? this.options.accounts.toPublic(account) : null,
    };
  }

  async confirm(confirmToken: string, openid: string, client: ClientContext): Promise<ConfirmOutcome> {
    return this.decide('confirm', confirmToken, openid, client);
  }

  async cancel(confirmToken: string, openid: string, client: ClientContext): Promise<ConfirmOutcome> {
    return this.decide('cancel', confirmToken, openid, client);
  }

  private async decide(
    decision: 'confirm' | 'cancel',
    confirmToken: string,
    openid: string,
    client: ClientContext,
  ): Promise<ConfirmOutcome> {
    const { store, clock, audit } = this.options;
    const outcome = await store[decision](confirmToken, openid, clock.now());
    if (outcome.result === 'done')
      this.options.metrics?.ticketTransition(decision === 'confirm' ? 'confirmed' : 'cancelled');
    else this.options.metrics?.ticketRejection(decision, outcome.result);
    if (outcome.result === 'done') {
      // The decision is stored (and the poll woken): the phone is told so even if MySQL fails now.
      const ticket = await store.byConfirmToken(confirmToken);
      if (ticket && decision === 'cancel') await this.endLease(ticket);
      await audit.recordOrLog({
        type: decision === 'confirm' ? 'login_confirmed' : 'login_cancelled',
        accountId: ticket?.accountId ?? null,
        openid,
        ...client,
        detail: { portalIp: ticket?.clientIp ?? null },
      });
    }
    return outcome;
  }

  /**
   * The ticket is over: its QR's scene starts its quiet period now. The decision is already stored,
   * so a failure here must not fail the answer; the lease then ends at the ticket's expiry instead.
   */
  private async endLease(ticket: LoginTicket): Promise<void> {
    if (!ticket.qrScene) return;
    await this.options.qrPool.release(ticket.qrScene, ticket.sceneStr).catch(() => undefined);
  }

  private confirmUrl(ticket: LoginTicket): string {
    return `${this.options.publicUrl}/h5/login/confirm?c=${ticket.confirmToken}`;
  }

  private toView(ticket: LoginTicket): TicketView {
    return {
      ticketId: ticket.ticketId,
      status: currentStatus(ticket, this.options.clock.now()),
      expiresAt: new Date(ticket.expiresAt).toISOString(),
    };
  }
}
