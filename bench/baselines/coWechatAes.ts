// Baseline of P2: the same bare co-wechat handler in safe (AES) mode, with co-wechat's own
// encodingAESKey support: it checks msg_signature, decrypts, and encrypts the constant reply.
import coWechat from 'co-wechat';
import Koa from 'koa';
import { WECHAT } from '../lib/settings';
import { serve } from './serve';

const REPLY = '您已扫码，请在手机上确认登录福建省网上税务局。';

const app = new Koa();
app.use(
  coWechat({ token: WECHAT.token, appid: WECHAT.appId, encodingAESKey: WECHAT.encodingAesKey }).middleware(() =>
    Promise.resolve(REPLY),
  ),
);
serve(app.callback());
