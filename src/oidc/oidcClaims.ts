import { createHmac, hkdfSync } from 'node:crypto';
import type { Account } from '../accounts/Account';
import type { AccountService } from '../accounts/AccountService';
import { maskName } from '../security/masking';

/**
 * The claim set (docs/oidc.md): each scope and the claims it releases. Names and ID numbers are
 * personal data, so `profile` releases them masked; the full ID number has a scope of its own that
 * only a client whose configuration lists it may ask for.
 */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'preferred_username'],
  masked_identity: ['masked_id_number', 'masked_phone_number'],
  id_number: ['id_number'],
} as const;

export type OidcScope = keyof typeof SCOPE_CLAIMS | 'offline_access';
export const OIDC_SCOPES: readonly OidcScope[] = [...(Object.keys(SCOPE_CLAIMS) as OidcScope[]), 'offline_access'];

/** How the user logged in, as `acr` says it; `amr` says which way within it. */
export const ACR = {
  wechat: 'urn:etax:acr:wechat-bound',
  password: 'urn:etax:acr:password',
} as const;

export const AMR = {
  /** A bound WeChat scanned the page's QR code and confirmed on the phone. */
  wechatScan: 'wechat_scan',
  /** Inside WeChat's browser: snsapi_base identified a bound WeChat, which confirmed on the page. */
  wechatOAuth: 'wechat_oauth',
  /** RFC 8176: password (with the image captcha). */
  password: 'pwd',
} as const;

/** Every claim an account can release; oidc-provider keeps only those of the granted scopes. */
export function accountClaims(
  accounts: AccountService,
  account: Account,
  sub: string,
): { sub: string } & Record<string, string> {
  const view = accounts.toPublic(account);
  return {
    sub,
    name: maskName(view.realName),
    preferred_username: view.loginName,
    masked_id_number: view.idNumberMasked,
    masked_phone_number: view.phoneMasked,
    id_number: accounts.idNumberOf(account),
  };
}

/**
 * Pairwise subjects: an HMAC of the client's sector (its redirect host) and the account id under a
 * key derived from DATA_KEY, so a subject is stable per sector, unlinkable across sectors, and the
 * same on every instance without storing it.
 */
export class PairwiseSubjects {
  private readonly key: Buffer;

  constructor(dataKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.from('etax-wechat/oidc'), 'pairwise subject', 32));
  }

  subjectFor(sector: string, accountId: string): string {
    return createHmac('sha256', this.key).update(`${sector}\u0000${accountId}`, 'utf8').digest('base64url');
  }
}
