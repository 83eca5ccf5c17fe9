import type { Clock } from '../clock/Clock';
import { chinaDate, checkIdNumber } from './gb11643';
import { checkPersonName } from './personName';

/** Who claims to be whom: the values of the registration form, already format-checked and normalised. */
export interface IdentityClaim {
  realName: string;
  /** 18 characters, upper-case X. */
  idNumber: string;
  phone: string;
  /** The WeChat user registering; a face-verification verifier looks its result up by this. */
  openid: string;
  ip: string;
}

/** How far a verifier went; recorded in the 'register' audit event. */
export type VerificationLevel = 'format_only' | 'police_database' | 'face' | (string & {});

export type IdentityVerdict =
  | { ok: true; level: VerificationLevel }
  /** Refused: `field` says where the form shows `message`; `reason` goes to the audit log. */
  | { ok: false; field: 'realName' | 'idNumber' | 'phone' | 'form'; message: string; reason: string };

/**
 * Identity verification beyond the format of the form: does this person exist and
 * is it the one registering? Called after the format checks and the SMS code, before anything is
 * written; a refusal stores nothing. A verifier that cannot reach its service should throw (the
 * taxpayer sees "系统繁忙，请稍后再试" and nothing is stored), not answer ok.
 *
 * Plug in a real one (a police-database 二要素 check of name + ID number, an operator 三要素 check
 * adding the phone, or a face check whose result was recorded for `openid` by an earlier page) by
 * implementing this interface and passing it as `identityVerifier` to createApp.
 */
export interface IdentityVerifier {
  verify(claim: IdentityClaim): Promise<IdentityVerdict>;
}

/**
 * The built-in verifier: FORMAT ONLY. It re-checks the name (2016 rules) and the ID number
 * (GB 11643-1999: province code, birth date, check character) and confirms nothing about the
 * person: anyone who knows a valid name/ID pair and holds a phone can register it. Deployments that
 * need real-name assurance must plug in a real verifier.
 */
export class FormatOnlyIdentityVerifier implements IdentityVerifier {
  constructor(private readonly clock: Clock) {}

  verify(claim: IdentityClaim): Promise<IdentityVerdict> {
    const name = checkPersonName(claim.realName);
    if (!name.ok)
      return Promise.resolve({ ok: false, field: 'realName', message: name.message, reason: `name_${name.problem}` });
    const id = checkIdNumber(claim.idNumber, chinaDate(this.clock.now()));
    if (!id.ok)
      return Promise.resolve({ ok: false, field: 'idNumber', message: id.message, reason: `id_number_${id.problem}` });
    return Promise.resolve({ ok: true, level: 'format_only' });
  }
}
