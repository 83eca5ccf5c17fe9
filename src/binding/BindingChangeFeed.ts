import { createHash } from 'node:crypto';

/** What a binding change feed tells its one listener. */
export interface BindingChangeListener {
  /** The binding of the openid with this SHA-1 (hex) was created or removed, on some instance. */
  changed(openidSha1: string): void;
  /** Announcements may be missed from now on (the subscription's connection dropped). */
  interrupted(): void;
  /** The subscription is live again; whatever was announced while it was down is lost. */
  resumed(): void;
}

/**
 * The stream of "this openid's binding changed" announcements, from whichever instance made the
 * change, so every instance's BoundAccountCache can forget it. An openid is personal data: the
 * feed carries only its SHA-1 (bindingChangeId), never the openid itself.
 */
export interface BindingChangeFeed {
  /** Starts delivering announcements to `listener`; resolves once no later one can be missed. */
  start(listener: BindingChangeListener): Promise<void>;
  stop(): Promise<void>;
  /** Announces a committed change to every instance, this one included. Rejects when it cannot. */
  publish(openidSha1: string): Promise<void>;
}

/** How a change of `openid`'s binding is named on the feed (and keyed in the cache). */
export function bindingChangeId(openid: string): string {
  return createHash('sha1').update(openid).digest('hex');
}
