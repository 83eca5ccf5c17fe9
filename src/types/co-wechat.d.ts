// co-wechat ships no types; this covers the part of its API the service uses.
declare module 'co-wechat' {
  import type { Context, Middleware } from 'koa';

  interface CoWechat {
    middleware(handle: (message: unknown, ctx: Context) => Promise<unknown>): Middleware;
  }

  function coWechat(
    config: string | { token: string; appid?: string; encodingAESKey?: string },
    isDebug?: boolean,
  ): CoWechat;
  export = coWechat;
}
