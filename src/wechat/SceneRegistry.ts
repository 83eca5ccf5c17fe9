import type { Reply } from './Reply';

/** A scan of a parametric QR code, from SCAN or from subscribe with `qrscene_`. */
export interface SceneScan {
  openid: string;
  /** The scene value without the `qrscene_` prefix. */
  scene: string;
  ticket?: string;
  /** When WeChat saw the scan (the push's CreateTime, in ms); absent for scans not made through a push. */
  scannedAt?: number;
  /** True when the scan made the user follow the account (subscribe with qrscene_). */
  viaSubscribe: boolean;
}

export type SceneHandler = (scan: SceneScan) => Promise<Reply>;

/**
 * Capabilities claim scene prefixes (login claims `login_`); the router hands each scan to the
 * handler of the longest matching prefix.
 */
export class SceneRegistry {
  private readonly handlers = new Map<string, SceneHandler>();

  register(prefix: string, handler: SceneHandler): void {
    if (this.handlers.has(prefix)) throw new Error(`scene prefix ${prefix} is already registered`);
    this.handlers.set(prefix, handler);
  }

  find(scene: string): SceneHandler | undefined {
    let best: string | undefined;
    for (const prefix of this.handlers.keys()) {
      if (scene.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
    }
    return best === undefined ? undefined : this.handlers.get(best);
  }
}
