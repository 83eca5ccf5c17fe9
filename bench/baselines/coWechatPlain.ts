// Baseline of P1: a bare co-wechat handler (plain mode) that replies a constant text to every push.
import coWechat from 'co-wechat';
import Koa from 'koa';
import { WECHAT } from '../lib/settings';
import { serve } from './serve';

const REPLY = '您已扫码，请在手机上确认登录福建省网上税务局。';

const app = new Koa();
app.use(coWechat({ token: WECHAT.token, appid: WECHAT.appId }).middleware(() => Promise.resolve(REPLY)));
serve(app.callback());
