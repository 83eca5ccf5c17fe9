import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock/Clock';
import { randomAlphanumeric } from './randomStrings';
import type { QrCodeRequest } from './qrCodeRequest';

/** A QR code the simulator created, as tests look it up. */
export interface QrCode {
  ticket: string;
  /** The QR content, `http://weixin.qq.com/q/…`. */
  url: string;
  sceneStr?: string;
  sceneId?: number;
  /** Epoch ms after which showqrcode answers 404; null for permanent codes. */
  expiresAt: number | null;
  permanent: boolean;
}

/** The parametric QR codes of one account. */
export class QrCodeRegistry {
  private readonly codes: QrCode[] = [];

  constructor(private readonly clock: Clock) {}

  /** Temporary codes are new on every call; a permanent scene keeps its one code, as on WeChat. */
  create(request: QrCodeRequest): QrCode {
    const sceneFields: Pick<QrCode, 'sceneId' | 'sceneStr'> =
      'sceneId' in request.scene ? { sceneId: request.scene.sceneId } : { sceneStr: request.scene.sceneStr };
    if (request.permanent) {
      const existing = this.codes.find(
        (code) => code.permanent && code.sceneId === sceneFields.sceneId && code.sceneStr === sceneFields.sceneStr,
      );
      if (existing) return existing;
    }
    const url = `http://weixin.qq.com/q/${randomAlphanumeric(22)}`;
    const code: QrCode = {
      ticket: ticketFor(url),
      url,
      ...sceneFields,
      expiresAt: request.permanent ? null : this.clock.now() + request.expireSeconds * 1000,
      permanent: request.permanent,
    };
    this.codes.push(code);
    return code;
  }

  byTicket(ticket: string): QrCode | undefined {
    return this.codes.find((code) => code.ticket === ticket);
  }

  byUrl(url: string): QrCode | undefined {
    return this.codes.find((code) => code.url === url);
  }

  /** The code behind a ticket while it can still be scanned. */
  live(ticket: string): QrCode | undefined {
    const code = this.byTicket(ticket);
    return code && (code.expiresAt === null || this.clock.now() < code.expiresAt) ? code : undefined;
  }

  all(): QrCode[] {
    return [...this.codes];
  }

  clear(): void {
    this.codes.length = 0;
  }
}

/**
 * Real tickets are standard Base64 of a binary record that embeds the url. This one is built the
 * same way and always contains '+', '/' and '=' so that clients which forget to URL-encode the
 * ticket fail in the simulator as they would against WeChat.
 */
function ticketFor(url: string): string {
  for (;;) {
    // 12 + url (45) + 10 bytes = 67 ≡ 1 (mod 3) → the Base64 ends in "==".
    const bytes = Buffer.concat([randomBytes(12), Buffer.from(url), randomBytes(10)]);
    const ticket = bytes.toString('base64');
    if (ticket.includes('+') && ticket.includes('/')) return ticket;
  }
}
