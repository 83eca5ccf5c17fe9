/** A temporary QR code WeChat made for one scene string, as the pool keeps it. */
export interface PooledQrCode {
  /** The scene inside the QR (`login_…`), what a scan push carries. */
  scene: string;
  /** WeChat's ticket (for the showqrcode image) and the QR's content. */
  qrTicket: string;
  qrUrl: string;
  /** Epoch ms at which WeChat stops answering scans of this QR. */
  expiresAt: number;
}

/** Who holds a scene now: the ticket's scan key (LoginTicket.sceneStr) and when its lease started and ends. */
export interface SceneLease {
  ticketKey: string;
  startedAt: number;
  endsAt: number;
}

/** Scenes by state: idle (leasable), quiet (resting after a lease or a stray scan), leased, retired. */
export interface QrSceneCounts {
  idle: number;
  quiet: number;
  leased: number;
  retired: number;
}

/** Timing rules the pool applies; passed with each call so the stores hold no configuration. */
export interface LeaseRules {
  now: number;
  /** How long a scene rests after its lease ends, or after a scan while it is not leased. */
  quietMs: number;
  /** A scene whose QR expires at or before this instant is retired and never leased again. */
  usableUntil: number;
}

/**
 * The scenes of the login QR codes and their leases (in Redis for production, in the process for
 * the demo). Every operation is atomic, so two instances never lease one scene twice.
 */
export interface QrSceneStore {
  /**
   * Leases the longest-idle scene whose QR outlives `rules.usableUntil` to `lease.ticketKey`, or
   * answers null when none is idle. Every operation first ends the leases whose time is up and
   * retires the idle scenes whose QR would expire too soon.
   */
  lease(lease: SceneLease, rules: LeaseRules): Promise<PooledQrCode | null>;
  /** A QR just created for `lease`: it joins the pool already leased. */
  addLeased(code: PooledQrCode, lease: SceneLease): Promise<void>;
  /** A QR created ahead of demand (warm-up): it joins the pool idle. */
  addIdle(code: PooledQrCode, now: number): Promise<void>;
  /** The ticket ended early (redeemed, cancelled): its scene rests from now, if that ticket still holds it. */
  release(scene: string, ticketKey: string, rules: LeaseRules): Promise<void>;
  /**
   * The scan key of the ticket that leases `scene`, for a scan made at `scannedAt`; null for a scene
   * that is idle, quiet, retired or unknown, and for a scan older than the current lease. A scan of an
   * idle or quiet scene restarts its quiet period.
   */
  resolve(scene: string, scannedAt: number, rules: LeaseRules): Promise<string | null>;
  counts(rules: LeaseRules): Promise<QrSceneCounts>;
  /** Counts one qrcode/create call on `day` (YYYY-MM-DD, Beijing time); answers the day's count so far. */
  countCreateCall(day: string): Promise<number>;
  createCallsOn(day: string): Promise<number>;
}
