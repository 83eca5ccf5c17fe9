import type { Clock } from '../clock/Clock';
import { shanghaiDate } from '../clock/shanghaiTime';
import type { Logger } from '../logging/createLogger';
import type { Metrics } from '../observability/Metrics';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import type { LeaseRules, PooledQrCode, QrSceneCounts, QrSceneStore, SceneLease } from './QrSceneStore';
import { newLoginScene } from './ticketIdentifiers';

export interface QrScenePoolOptions {
  store: QrSceneStore;
  wechatApi: Pick<WeChatApiClient, 'createTemporaryQrCode'>;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  ticketTtlSeconds: number;
  /** WeChat lifetime asked for each new QR code. */
  lifetimeSeconds: number;
  quietSeconds: number;
  retireMarginSeconds: number;
  /** Idle scenes kept ready in the background; 0 disables the warm-up. */
  warmIdle: number;
  dailyQuota: number;
}

export interface QrBudget {
  scenes: QrSceneCounts;
  createCallsToday: number;
  dailyQuota: number;
}

/**
 * The login QR codes: long-lived temporary QR codes whose scenes are leased to tickets, so a new
 * ticket costs a qrcode/create call only when no scene is idle.
 */
export class QrScenePool {
  private warming: Promise<void> | null = null;

  constructor(private readonly options: QrScenePoolOptions) {}

  /** A QR for a ticket: an idle scene from the pool, else a new QR from WeChat (its errors pass through). */
  async lease(lease: SceneLease): Promise<PooledQrCode> {
    const { store, metrics } = this.options;
    const pooled = await store.lease(lease, this.rules());
    if (pooled) {
      metrics?.qrLease('pool');
      this.warmUp();
      return pooled;
    }
    const created = await this.createQrCode();
    await store.addLeased(created, lease);
    metrics?.qrLease('new');
    this.warmUp();
    return created;
  }

  /** The ticket ended before its expiry: its scene rests from now. */
  release(scene: string, ticketKey: string): Promise<void> {
    return this.options.store.release(scene, ticketKey, this.rules());
  }

  /** The scan key of the ticket a scan of `scene` at `scannedAt` is for, or null (idle, quiet, retired, stale, unknown). */
  resolve(scene: string, scannedAt: number): Promise<string | null> {
    return this.options.store.resolve(scene, scannedAt, this.rules());
  }

  async budget(): Promise<QrBudget> {
    const { store, clock, dailyQuota } = this.options;
    const [scenes, createCallsToday] = await Promise.all([
      store.counts(this.rules()),
      store.createCallsOn(shanghaiDate(clock.now())),
    ]);
    return { scenes, createCallsToday, dailyQuota };
  }

  /**
   * Tops the idle scenes up to `warmIdle` in the background, one QR at a time and one top-up per
   * process; a WeChat failure ends the top-up (the next lease tries again).
   */
  warmUp(): void {
    if (this.options.warmIdle === 0 || this.warming) return;
    this.warming = this.topUp()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'login QR warm-up stopped'))
      .finally(() => {
        this.warming = null;
      });
  }

  /** Waits for a running warm-up (at shutdown, before Redis closes). */
  async idle(): Promise<void> {
    await this.warming;
  }

  private async topUp(): Promise<void> {
    const { store, warmIdle, clock } = this.options;
    while ((await store.counts(this.rules())).idle < warmIdle) {
      await store.addIdle(await this.createQrCode(), clock.now());
    }
  }

  private async createQrCode(): Promise<PooledQrCode> {
    const { store, wechatApi, clock, lifetimeSeconds } = this.options;
    const scene = newLoginScene();
    // Counted before the call: a call WeChat answers with an error may still count against the quota.
    await store.countCreateCall(shanghaiDate(clock.now()));
    const qr = await wechatApi.createTemporaryQrCode(scene, lifetimeSeconds);
    return { scene, qrTicket: qr.ticket, qrUrl: qr.url, expiresAt: clock.now() + qr.expireSeconds * 1000 };
  }

  private rules(): LeaseRules {
    const { clock, quietSeconds, ticketTtlSeconds, retireMarginSeconds } = this.options;
    const now = clock.now();
    return { now, quietMs: quietSeconds * 1000, usableUntil: now + (ticketTtlSeconds + retireMarginSeconds) * 1000 };
  }
}
