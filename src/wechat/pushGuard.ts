import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import createHttpError from 'http-errors';
import getRawBody from 'raw-body';
import { parseStringPromise } from 'xml2js';
import type { Clock } from '../clock/Clock';
import { CipherError, type MessageCipher } from './MessageCipher';
import type { NonceSighting, PushNonceStore } from './PushNonceStore';
import type { Logger } from '../logging/createLogger';
import { signaturesEqual, wechatSignature } from './signature';

export const MAX_PUSH_BYTES = 64 * 1024;

/** WeChat's 消息加解密方式: 明文 (plain), 兼容 (plaintext and encrypted both) or 安全 (encrypted only). */
export type MessageMode = 'plain' | 'compatible' | 'safe';

export interface PushGuardOptions {
  token: string;
  appId: string;
  /** Current key first, then the previous one during a rotation; empty when safe mode is off. */
  ciphers: MessageCipher[];
  maxSkewSeconds: number;
  clock: Clock;
  /** In safe mode a push must be encrypted and carry a valid msg_signature. */
  messageMode: MessageMode;
  nonces: PushNonceStore;
}

declare module 'koa' {
  interface DefaultState {
    /** Set by the guard on an encrypted push: the cipher whose key decrypted it, to encrypt the reply. */
    pushCipher?: MessageCipher;
  }
  interface Request {
    /** co-wechat takes a string body from here instead of reading the stream again. */
    body?: unknown;
  }
}

const unauthorized = (message: string) => createHttpError(401, message, { code: 'invalid_signature' });

/**
 * Runs before co-wechat and closes its gaps: it checks the timestamp window, compares signatures in
 * constant time, limits the body, decrypts safe-mode pushes with the current or previous key and
 * refuses a foreign AppID inside them; in safe mode it refuses plaintext pushes, and it refuses a
 * (timestamp, nonce) already seen with another body. co-wechat then receives a verified plaintext push
 * and only parses it: this guard's signature checks are the only ones on the path.
 */
export function pushGuard(options: PushGuardOptions): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'POST') {
      throw createHttpError(405, 'only GET and POST', { headers: { Allow: 'GET, POST' } });
    }
    const { signature, timestamp, nonce } = ctx.query;
    if (typeof signature !== 'string' || typeof timestamp !== 'string' || typeof nonce !== 'string') {
      throw unauthorized('signature, timestamp and nonce are required');
    }
    if (
      !/^\d{1,12}$/.test(timestamp) ||
      Math.abs(options.clock.now() / 1000 - Number(timestamp)) > options.maxSkewSeconds
    ) {
      throw unauthorized('timestamp outside the accepted window');
    }
    if (!signaturesEqual(wechatSignature(options.token, timestamp, nonce), signature)) {
      throw unauthorized('bad signature');
    }

    if (ctx.method === 'GET') {
      if (typeof ctx.query.echostr !== 'string')
        throw createHttpError(400, 'echostr is required', { code: 'bad_request' });
      // An Official Account's verification echostr is plaintext even in safe mode: answered as it came.
      await next();
      return;
    }

    const encryptType = ctx.query.encrypt_type;
    const encrypted = encryptType === 'aes';
    if (encryptType !== undefined && encryptType !== 'raw' && !encrypted) {
      throw createHttpError(400, 'encrypt_type must be raw or aes', { code: 'bad_request' });
    }
    if (encrypted && options.ciphers.length === 0) {
      throw createHttpError(400, 'encrypted push but no EncodingAESKey is configured', { code: 'aes_not_configured' });
    }
    if (options.messageMode === 'safe' && !encrypted) {
      throw unauthorized('safe mode: only encrypted pushes (encrypt_type=aes with msg_signature) are accepted');
    }
    const msgSignature = ctx.query.msg_signature;
    if (encrypted && typeof msgSignature !== 'string') throw unauthorized('msg_signature is required');

    let body: string;
    try {
      body = await getRawBody(ctx.req, {
        length: ctx.get('content-length') || undefined,
        limit: MAX_PUSH_BYTES,
        encoding: 'utf-8',
      });
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 413)
        throw createHttpError(413, `push body over ${MAX_PUSH_BYTES} bytes`, { code: 'payload_too_large' });
      throw createHttpError(400, 'unreadable body', { code: 'bad_request' });
    }
    if (!body.trimStart().startsWith('<')) throw createHttpError(400, 'body is not XML', { code: 'invalid_xml' });

    const raw = body;
    if (encrypted) {
      const envelope = await parseEnvelope(body);
      if (!signaturesEqual(wechatSignature(options.token, timestamp, nonce, envelope), msgSignature)) {
        throw unauthorized('bad msg_signature');
      }
      const { cipher, message } = decryptForApp(options.ciphers, envelope, options.appId);
      ctx.state.pushCipher = cipher;
      body = message;
    }
    // Last, so a push refused above leaves no trace; the raw body is what a replay would change.
    if ((await sightNonce(options, timestamp, nonce, raw, ctx.state.logger)) === 'different') {
      throw unauthorized('timestamp and nonce were already used with another body');
    }
    // co-wechat reads a string body when one is present; it then sees a verified plaintext push and,
    // with no query, nothing to decrypt or verify again.
    ctx.request.body = body;
    ctx.query = {};
    await next();
  };
}

/**
 * Records the push's (timestamp, nonce) with a digest of its body. A pair stays usable while its
 * timestamp is within ±maxSkew, so it is kept for twice that. Without the store the check is
 * skipped: the push dedupe, on the same Redis, then answers the apology and handles nothing.
 */
async function sightNonce(
  options: PushGuardOptions,
  timestamp: string,
  nonce: string,
  body: string,
  logger: Logger,
): Promise<NonceSighting | 'unknown'> {
  const pair = createHash('sha256').update(`${timestamp}\u0000${nonce}`, 'utf8').digest('hex').slice(0, 32);
  const digest = createHash('sha256').update(body, 'utf8').digest('base64');
  try {
    return await options.nonces.sight(pair, digest, 2 * options.maxSkewSeconds);
  } catch (error) {
    logger.error({ err: error }, 'push nonce store unavailable');
    return 'unknown';
  }
}

async function parseEnvelope(body: string): Promise<string> {
  let parsed: unknown;
  try {
    parsed = await parseStringPromise(body, { explicitArray: false, trim: true });
  } catch {
    throw createHttpError(400, 'body is not XML', { code: 'invalid_xml' });
  }
  const root = (parsed as { xml?: unknown } | null)?.xml;
  const encrypt =
    typeof root === 'object' && root !== null && Object.prototype.hasOwnProperty.call(root, 'Encrypt')
      ? (root as Record<string, unknown>).Encrypt
      : undefined;
  if (typeof encrypt !== 'string' || encrypt === '')
    throw createHttpError(400, 'encrypted push without Encrypt', { code: 'invalid_push' });
  return encrypt;
}

/** Tries the current key, then the previous one; a plaintext for another AppID counts as a refusal. */
function decryptForApp(ciphers: MessageCipher[], envelope: string, appId: string) {
  let foreign = false;
  for (const cipher of ciphers) {
    try {
      const decrypted = cipher.decrypt(envelope);
      if (decrypted.appId === appId) return { cipher, message: decrypted.message };
      foreign = true;
    } catch (error) {
      if (!(error instanceof CipherError)) throw error;
    }
  }
  throw unauthorized(foreign ? 'push is for another AppID' : 'Encrypt does not decrypt under the configured keys');
}
