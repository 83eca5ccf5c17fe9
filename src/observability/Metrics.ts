import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QrBudget } from '../login/QrScenePool';

/** What became of one push (or one request to /wechat that was refused before it was parsed). */
export type PushOutcome =
  /** Routed and answered with its reply (or `success`) within the deadline. */
  | 'handled'
  /** A re-delivery of a push already claimed: answered from the first delivery (or `success`). */
  | 'retry'
  /** Handling passed the reply deadline: answered `success`, finished in the background. */
  | 'late'
  /** Handling threw: answered with the apology text, the claim released for WeChat's retry. */
  | 'failed'
  /** The dedupe store (Redis) was unreachable: answered with the apology text, nothing handled. */
  | 'unavailable'
  /** Refused before parsing: bad signature or timestamp, foreign AppID, not XML, too large… */
  | 'refused';

/** What became of one login notice to one WeChat user (see LoginNoticeSender). */
export type LoginNoticeOutcome =
  'sent' | 'retried' | 'failed' | 'dropped_daily_budget' | 'dropped_recipient_limit' | 'dropped_backlog';

/** How a WeChat API call that did not answer errcode 0 failed at the transport level. */
export type TransportFailure = 'timeout' | 'network' | 'http_4xx' | 'http_5xx' | 'not_json';

// Label values that come from outside (a push's MsgType and Event, the HTTP method) are mapped onto
// fixed sets, so no client can create series at will. Pushes are signed, but a bound is cheap.
const MSG_TYPES = new Set([
  'text',
  'image',
  'voice',
  'video',
  'shortvideo',
  'location',
  'link',
  'file',
  'miniprogrampage',
  'event',
]);
const EVENTS = new Set([
  'subscribe',
  'unsubscribe',
  'SCAN',
  'LOCATION',
  'CLICK',
  'VIEW',
  'TEMPLATESENDJOBFINISH',
  'MASSSENDJOBFINISH',
  'scancode_push',
  'scancode_waitmsg',
  'pic_sysphoto',
  'pic_photo_or_album',
  'pic_weixin',
  'location_select',
  'view_miniprogram',
  'subscribe_msg_popup_event',
  'subscribe_msg_change_event',
  'subscribe_msg_sent_event',
]);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
// A WeChat API name is a constant of our code ('qrcode/create', 'stable_token', …); the pattern is a
// guard against a future caller passing something built from input.
const API_NAME = /^[a-z0-9_/]{1,64}$/;

/** The label used for a request that no router matched (404s of unknown paths, static files, mounts). */
export const UNMATCHED_ROUTE = 'unmatched';

export interface MetricsOptions {
  /** prom-client's process metrics (CPU, memory, event loop lag, GC, handles); default on. */
  defaultMetrics?: boolean;
}

/**
 * The service's Prometheus metrics, on a registry of its own (never prom-client's global one), so
 * that several app instances in one process (tests) each count their own. Built once in
 * dependencies.ts and handed to whatever records; `/metrics` serves `expose()`.
 */
export class Metrics {
  readonly registry = new Registry();

  private readonly pushEvents = new Counter({
    name: 'etax_wechat_push_events_total',
    help: 'Requests to /wechat (pushes from WeChat) by MsgType, Event and outcome (handled, retry, late, failed, unavailable, refused).',
    labelNames: ['msg_type', 'event', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly ticketTransitions = new Counter({
    name: 'etax_login_ticket_transitions_total',
    help: 'QR login tickets entering a status (pending on creation, needs_binding, scanned, confirmed, cancelled, redeemed).',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });

  private readonly ticketRejections = new Counter({
    name: 'etax_login_ticket_rejections_total',
    help: 'QR login actions refused by the ticket state machine, by action (scan, confirm, cancel, redeem) and reason.',
    labelNames: ['action', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly qrLeases = new Counter({
    name: 'etax_login_qr_leases_total',
    help: 'QR codes handed to new login tickets, by source: pool (a recycled scene, no WeChat call) or new (qrcode/create).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private readonly loginNotices = new Counter({
    name: 'etax_login_notices_total',
    help: 'Login notices (template messages) by outcome: sent, retried (a first try failed), failed (after the retry, or at once for a final errcode), dropped_daily_budget, dropped_recipient_limit, dropped_backlog.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly longPolls = new Gauge({
    name: 'etax_login_long_polls',
    help: 'Login-ticket long-polls currently held open by this instance.',
    registers: [this.registry],
  });

  private readonly wechatCalls = new Counter({
    name: 'etax_wechat_api_calls_total',
    help: 'Calls to the WeChat API by api and result (ok, errcode, transport).',
    labelNames: ['api', 'result'] as const,
    registers: [this.registry],
  });

  private readonly wechatErrors = new Counter({
    name: 'etax_wechat_api_errors_total',
    help: 'WeChat API calls answered with a non-zero errcode, by api and errcode.',
    labelNames: ['api', 'errcode'] as const,
    registers: [this.registry],
  });

  private readonly wechatTransport = new Counter({
    name: 'etax_wechat_api_transport_failures_total',
    help: 'WeChat API calls that got no usable answer, by api and reason (timeout, network, http_4xx, http_5xx, not_json).',
    labelNames: ['api', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly wechatDuration = new Histogram({
    name: 'etax_wechat_api_call_duration_seconds',
    help: 'Duration of WeChat API calls by api, whatever their result.',
    labelNames: ['api'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4],
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'etax_http_request_duration_seconds',
    help: 'HTTP request latency by method, matched route (the router\'s pattern, or "unmatched") and status class.',
    labelNames: ['method', 'route', 'status_class'] as const,
    // Long-polls hold up to 30 s: the top buckets keep them apart from slow ordinary requests.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The text exposition format and its content type, for `/metrics`. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  push(msgType: string | undefined, event: string | undefined, outcome: PushOutcome): void {
    const type = msgType === undefined ? 'unknown' : MSG_TYPES.has(msgType) ? msgType : 'other';
    const ev = type !== 'event' ? '' : event !== undefined && EVENTS.has(event) ? event : 'other';
    this.pushEvents.inc({ msg_type: type, event: ev, outcome });
  }

  ticketTransition(to: 'pending' | 'needs_binding' | 'scanned' | 'confirmed' | 'cancelled' | 'redeemed'): void {
    this.ticketTransitions.inc({ to });
  }

  loginNotice(outcome: LoginNoticeOutcome): void {
    this.loginNotices.inc({ outcome });
  }

  ticketRejection(action: 'scan' | 'confirm' | 'cancel' | 'redeem', reason: string): void {
    this.ticketRejections.inc({ action, reason });
  }

  qrLease(source: 'pool' | 'new'): void {
    this.qrLeases.inc({ source });
  }

  /**
   * Reports the login QR pool (shared by all instances: every instance reports the same figures) and
   * the day's qrcode/create calls against the quota, read from `read` at each scrape. A failed read
   * leaves the last figures, so a scrape never fails because Redis hiccupped.
   */
  watchQrBudget(read: () => Promise<QrBudget>): void {
    let reading: Promise<void> | null = null;
    // prom-client awaits each gauge's collect() before a scrape; the three gauges share one read.
    const refresh = (): Promise<void> =>
      (reading ??= read()
        .then((budget) => {
          for (const state of ['idle', 'quiet', 'leased', 'retired'] as const)
            scenes.set({ state }, budget.scenes[state]);
          callsToday.set(budget.createCallsToday);
          quota.set(budget.dailyQuota);
        })
        .catch(() => undefined)
        .finally(() => {
          reading = null;
        }));
    const scenes = new Gauge({
      name: 'etax_login_qr_scenes',
      help: 'Login QR scenes in the shared pool by state: idle, quiet, leased, retired (until their WeChat expiry).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect: refresh,
    });
    const callsToday = new Gauge({
      name: 'etax_wechat_qrcode_calls_today',
      help: 'qrcode/create calls made today (Beijing time) by all instances.',
      registers: [this.registry],
      collect: refresh,
    });
    const quota = new Gauge({
      name: 'etax_wechat_qrcode_daily_quota',
      help: 'qrcode/create calls WeChat allows a day (WECHAT_QRCODE_DAILY_QUOTA).',
      registers: [this.registry],
      collect: refresh,
    });
  }

  /** Counts a held long-poll; call the returned function once when it answers. */
  longPollStarted(): () => void {
    this.longPolls.inc();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.longPolls.dec();
    };
  }

  wechatCallSucceeded(api: string, seconds: number): void {
    const name = apiLabel(api);
    this.wechatCalls.inc({ api: name, result: 'ok' });
    this.wechatDuration.observe({ api: name }, seconds);
  }

  wechatErrcode(api: string, errcode: number, seconds: number): void {
    const name = apiLabel(api);
    this.wechatCalls.inc({ api: name, result: 'errcode' });
    this.wechatErrors.inc({ api: name, errcode: Number.isInteger(errcode) ? String(errcode) : 'other' });
    this.wechatDuration.observe({ api: name }, seconds);
  }

  wechatTransportFailure(api: string, reason: TransportFailure, seconds: number): void {
    const name = apiLabel(api);
    this.wechatCalls.inc({ api: name, result: 'transport' });
    this.wechatTransport.inc({ api: name, reason });
    this.wechatDuration.observe({ api: name }, seconds);
  }

  /** `route` is the router's pattern (e.g. `/api/login/tickets/:ticketId`) or UNMATCHED_ROUTE, never the raw path. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe(
      {
        method: METHODS.has(method) ? method : 'other',
        route,
        status_class: status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other',
      },
      seconds,
    );
  }
}

function apiLabel(api: string): string {
  return API_NAME.test(api) ? api : 'other';
}
