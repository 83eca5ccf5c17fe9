import { WeChatApiError, asRecord } from './WeChatApiError';

export const QR_DEFAULT_EXPIRE_SECONDS = 60;
export const QR_MAX_EXPIRE_SECONDS = 2_592_000;
const PERMANENT_MAX_SCENE_ID = 100_000;
const TEMPORARY_MAX_SCENE_ID = 0xffff_ffff;
const SCENE_STR_MAX_LENGTH = 64;

/** A validated /cgi-bin/qrcode/create body. */
export type QrCodeRequest =
  { permanent: false; expireSeconds: number; scene: Scene } | { permanent: true; scene: Scene };

export type Scene = { sceneId: number } | { sceneStr: string };

const invalidActionInfo = (): WeChatApiError => new WeChatApiError(40053, 'invalid action info');

/**
 * Applies the rules of the createQRCode doc. WeChat answers any malformed body with 40053, the
 * classic case being `action_info` without its `scene` wrapper.
 */
export function parseQrCodeRequest(body: unknown): QrCodeRequest {
  const request = asRecord(body);
  const actionInfo = asRecord(request?.action_info);
  const scene = asRecord(actionInfo?.scene);
  if (!request || !scene) throw invalidActionInfo();
  switch (request.action_name) {
    case 'QR_SCENE':
      return {
        permanent: false,
        expireSeconds: expireSeconds(request.expire_seconds),
        scene: sceneId(scene, TEMPORARY_MAX_SCENE_ID),
      };
    case 'QR_STR_SCENE':
      return { permanent: false, expireSeconds: expireSeconds(request.expire_seconds), scene: sceneStr(scene) };
    case 'QR_LIMIT_SCENE':
      return { permanent: true, scene: sceneId(scene, PERMANENT_MAX_SCENE_ID) };
    case 'QR_LIMIT_STR_SCENE':
      return { permanent: true, scene: sceneStr(scene) };
    default:
      throw invalidActionInfo();
  }
}

/** Omitted → the documented default; above the maximum → clamped, as WeChat does. */
function expireSeconds(value: unknown): number {
  if (value === undefined) return QR_DEFAULT_EXPIRE_SECONDS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidActionInfo();
  return Math.min(value, QR_MAX_EXPIRE_SECONDS);
}

function sceneId(scene: Record<string, unknown>, max: number): Scene {
  const value = scene.scene_id;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw invalidActionInfo();
  return { sceneId: value };
}

function sceneStr(scene: Record<string, unknown>): Scene {
  const value = scene.scene_str;
  if (typeof value !== 'string' || value.length < 1 || value.length > SCENE_STR_MAX_LENGTH) throw invalidActionInfo();
  return { sceneStr: value };
}
