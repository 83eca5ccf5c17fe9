import { randomBytes } from 'node:crypto';
import type { ExpiringRecordStore } from './ExpiringRecordStore';

/** What the login page keeps for one interaction, beside oidc-provider's own record of it. */
export interface InteractionState {
  /** The synchronizer token of the page's forms (CSRF), one per interaction. */
  csrfToken: string;
  /** The login ticket behind the QR shown; its id never reaches the browser. */
  ticket?: { id: string; qrcodeUrl: string };
  /** The `state` of the snsapi_base authorization under way (WeChat's browser). */
  oauthState?: string;
  /** The WeChat that snsapi_base identified in WeChat's browser (the silent path). */
  openid?: string;
}

/** The login page's state per interaction uid, in the provider's store (Redis, or this process). */
export class InteractionStates {
  constructor(private readonly store: ExpiringRecordStore) {}

  async get(uid: string): Promise<InteractionState | null> {
    const record = await this.store.get(this.key(uid));
    return record ? (record.payload as unknown as InteractionState) : null;
  }

  /** The state of `uid`, created with a new CSRF token when there is none yet. */
  async ensure(uid: string, ttlSeconds: number): Promise<InteractionState> {
    const existing = await this.get(uid);
    if (existing) return existing;
    const created: InteractionState = { csrfToken: randomBytes(32).toString('base64url') };
    await this.save(uid, created, ttlSeconds);
    return created;
  }

  async save(uid: string, state: InteractionState, ttlSeconds: number): Promise<void> {
    await this.store.upsert(this.key(uid), state as unknown as Record<string, unknown>, ttlSeconds);
  }

  private key(uid: string): string {
    return `LoginPage:${uid}`;
  }
}
