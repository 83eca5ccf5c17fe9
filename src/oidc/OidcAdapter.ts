import type { Adapter, AdapterPayload } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { Clock } from '../clock/Clock';
import { accountSessionEntry, accountSessionsGroup } from './AccountLogout';
import type { ExpiringRecordStore } from './ExpiringRecordStore';

/**
 * oidc-provider's storage on an ExpiringRecordStore: one instance per model (Session,
 * AuthorizationCode, AccessToken, Grant, …). Every record of a grant is in the grant's group, so
 * revoking the grant destroys its codes and tokens together; sessions are also found by uid.
 */
export class OidcAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly store: ExpiringRecordStore,
    private readonly clock: Clock,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn = 0): Promise<void> {
    const group = this.model === 'Grant' ? id : payload.grantId;
    const record = payload as unknown as Record<string, unknown>;
    await this.store.upsert(this.key(id), record, expiresIn, group);
    if (payload.uid) await this.store.upsert(this.indexKey('uid', payload.uid), { id }, expiresIn, group);
    if (payload.userCode)
      await this.store.upsert(this.indexKey('userCode', payload.userCode), { id }, expiresIn, group);
    // The sessions of an account are listed, so they can all be ended (AccountLogout).
    if (this.model === 'Session' && typeof payload.accountId === 'string')
      await this.store.upsert(
        accountSessionEntry(id),
        { sessionId: id },
        expiresIn,
        accountSessionsGroup(payload.accountId),
      );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const record = await this.store.get(this.key(id));
    if (!record) return undefined;
    const payload = record.payload as AdapterPayload;
    return record.consumedAt === null ? payload : { ...payload, consumed: record.consumedAt };
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findByIndex('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findByIndex('userCode', userCode);
  }

  async consume(id: string): Promise<void> {
    await this.store.consume(this.key(id), Math.floor(this.clock.now() / 1000));
  }

  async destroy(id: string): Promise<void> {
    await this.store.destroy(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.store.destroyGroup(grantId);
  }

  private async findByIndex(index: string, value: string): Promise<AdapterPayload | undefined> {
    const entry = await this.store.get(this.indexKey(index, value));
    return typeof entry?.payload.id === 'string' ? this.find(entry.payload.id) : undefined;
  }

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  private indexKey(index: string, value: string): string {
    return `${this.model}:${index}:${value}`;
  }
}
