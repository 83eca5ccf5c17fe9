import type { QrCode } from '../simulator/WeChatSimulator';

/** A QR code the phone's 扫一扫 can point at. */
export interface ScannableQrCode {
  ticket: string;
  /** What the push carries: scene_str, or scene_id in digits. */
  scene: string;
  permanent: boolean;
  /** Epoch ms; null for permanent codes. */
  expiresAt: number | null;
}

/**
 * The codes that can be scanned now, newest first: the first temporary one is the login QR a
 * portal shows at this moment (each 微信扫码登录 page creates a fresh one). Expired codes are left
 * out: the WeChat client says 二维码已失效 and sends no push for them.
 */
export function scannableQrCodes(codes: readonly QrCode[], now: number): ScannableQrCode[] {
  return codes
    .filter((code) => code.expiresAt === null || now < code.expiresAt)
    .map((code) => ({
      ticket: code.ticket,
      scene: code.sceneStr ?? String(code.sceneId ?? ''),
      permanent: code.permanent,
      expiresAt: code.expiresAt,
    }))
    .reverse()
    .sort((a, b) => Number(a.permanent) - Number(b.permanent));
}
