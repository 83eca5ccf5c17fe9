/** How a push's (timestamp, nonce) relates to what was seen before: new, the same body again, or another body. */
export type NonceSighting = 'new' | 'same' | 'different';

/**
 * The (timestamp, nonce) pairs of recent pushes and a digest of the body each came with, shared by
 * every instance. A plain push's signature covers token, timestamp and nonce only, so a leaked
 * query string could carry any body while its timestamp is in the window: the first body seen
 * with a pair is the only one it may carry.
 */
export interface PushNonceStore {
  /** Records `bodyDigest` for `pair` when it is new; keeps it `ttlSeconds`. */
  sight(pair: string, bodyDigest: string, ttlSeconds: number): Promise<NonceSighting>;
}
