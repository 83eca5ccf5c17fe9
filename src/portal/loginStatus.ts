import type { TicketStatus } from './PortalApiClient';

/**
 * What the QR panel shows; every ticket status falls into one of these, and `waiting` is a new
 * visitor's page before its script has asked for the QR code.
 */
export type QrState = 'waiting' | 'pending' | 'scanned' | 'needs_binding' | 'expired' | 'confirmed';

/**
 * The four QR status messages of the portal's login page (plus the moment between the phone's 确定登录 and the redirect).
 * The page hands them to static/portal/portal.js, so the wording lives only here.
 */
export const QR_MESSAGES: Record<QrState, string> = {
  waiting: '正在获取二维码…',
  pending: '请使用微信扫一扫',
  scanned: '已扫码，请在手机上确认',
  needs_binding: '请先完成实名绑定',
  expired: '二维码已过期，点击刷新',
  confirmed: '已确认，正在登录…',
};

/** cancelled and redeemed cannot be used again: to the taxpayer they are an expired code. */
export function qrState(status: TicketStatus | null): QrState {
  switch (status) {
    case 'pending':
    case 'scanned':
    case 'needs_binding':
    case 'confirmed':
      return status;
    default:
      return 'expired';
  }
}
