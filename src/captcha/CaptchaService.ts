import { randomInt, timingSafeEqual } from 'node:crypto';
import svgCaptcha from 'svg-captcha';
import type { Clock } from '../clock/Clock';
import type { CaptchaStore } from './CaptchaStore';

// Upper-case letters and digits without the look-alikes 0/O/Q, 1/I/L; answers are compared
// case-insensitively, so lower-case letters would add nothing but confusion.
const ALPHABET = '23456789ABCDEFGHJKMNPRSTUVWXYZ';
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_LENGTH = 4;

// svg-captcha's module is itself the renderer `(text, options) => svg`, but its typings declare only
// `create`, which picks the text with Math.random. Library boundary: we pick the text with a CSPRNG
// and hand it to the renderer.
type RenderCaptcha = (text: string, options: Parameters<typeof svgCaptcha.create>[0]) => string;
const renderCaptcha = svgCaptcha as unknown as RenderCaptcha;

export interface CaptchaServiceOptions {
  store: CaptchaStore;
  clock: Clock;
  /** How long an answer is accepted; default 300 s. */
  ttlSeconds?: number;
  /** Characters per captcha, 4 or 5; default 4. */
  length?: 4 | 5;
}

export interface IssuedCaptcha {
  /** The image, an `<svg>` document to serve as image/svg+xml. */
  svg: string;
  /** The text drawn, for the sandbox's X-Sandbox-Captcha header only. */
  answer: string;
}

/**
 * Image captchas, one live answer per scope. Scopes are opaque strings chosen by the caller
 * (`<sessionId>:bind`, `<sessionId>:sms`), so each form and purpose has its own captcha.
 */
export class CaptchaService {
  private readonly ttlSeconds: number;
  private readonly length: number;

  constructor(private readonly options: CaptchaServiceOptions) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.length = options.length ?? DEFAULT_LENGTH;
  }

  /** A new captcha for `scope`; any earlier one of that scope stops counting. */
  async issue(scope: string): Promise<IssuedCaptcha> {
    requireScope(scope);
    let answer = '';
    for (let i = 0; i < this.length; i++) answer += ALPHABET[randomInt(ALPHABET.length)];
    const svg = renderCaptcha(answer, {
      width: 120,
      height: 44,
      fontSize: 48,
      noise: 3,
      color: true,
      background: '#f7f7f7',
    });
    await this.options.store.put(
      scope,
      { answer, expiresAt: this.options.clock.now() + this.ttlSeconds * 1000 },
      this.ttlSeconds,
    );
    return { svg, answer };
  }

  /**
   * True once for the right answer (case and surrounding spaces ignored). Every call uses up the
   * scope's answer, right or wrong, so a captcha can never be guessed twice.
   */
  async consume(scope: string, answer: string): Promise<boolean> {
    requireScope(scope);
    const stored = await this.options.store.take(scope);
    if (!stored || this.options.clock.now() >= stored.expiresAt) return false;
    const given = Buffer.from(answer.trim().toUpperCase(), 'utf8');
    const expected = Buffer.from(stored.answer, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

function requireScope(scope: string): void {
  if (scope.length === 0) throw new RangeError('captcha scope must not be empty');
}
