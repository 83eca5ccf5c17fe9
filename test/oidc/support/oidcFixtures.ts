import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import request, { type Agent } from 'supertest';
import type { DataSource } from 'typeorm';
import { WechatBindingEntity } from '../../../src/binding/WechatBinding';
import { WECHAT_UA } from '../../support/browser';

export const CLIENT_ID = 'invoice';
export const CLIENT_SECRET = 'invoice-secret-0123456789abcdef0123';
export const REDIRECT = 'https://rp.example.gov.cn/callback';

/** A clients file with one client (and any fields given), in a temp folder. */
export function clientsFile(extra: Record<string, unknown> = {}): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'oidc-')), 'clients.json');
  const client = {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: '发票服务平台',
    redirect_uris: [REDIRECT],
    scope: 'openid profile masked_identity',
    ...extra,
  };
  writeFileSync(file, JSON.stringify({ clients: [client] }));
  return file;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** An authorization request as a relying party sends it (code flow, S256). */
export function authorizeQuery(challenge: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid profile',
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
}

/** Starts an authorization in `agent` (its cookie jar is the browser) and returns the login page's path and CSRF token. */
export async function openLoginPage(
  agent: Agent,
  query: Record<string, string>,
): Promise<{ page: string; csrf: string; html: string }> {
  const started = await agent.get('/oidc/auth').query(query);
  if (started.status !== 303) throw new Error(`authorize answered ${started.status}: ${started.text}`);
  const page = started.headers.location!;
  const shown = await agent.get(page);
  if (shown.status !== 200) throw new Error(`the login page answered ${shown.status}`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(shown.text)?.[1];
  if (!csrf) throw new Error('the login page has no CSRF token');
  return { page, csrf, html: shown.text };
}

/** 实名用户登录 on the page: the captcha (X-Sandbox-Captcha), then the form; returns the answer. */
export async function postPassword(
  agent: Agent,
  login: { page: string; csrf: string },
  credentials: { loginName: string; password: string },
) {
  const captcha = await agent.get(`${login.page}/captcha`);
  return agent
    .post(`${login.page}/password`)
    .type('form')
    .send({ _csrf: login.csrf, captcha: captcha.headers['x-sandbox-captcha'], ...credentials });
}

/** Follows the provider's redirects after a finished interaction to the client's callback URL. */
export async function followToCallback(agent: Agent, location: string): Promise<URL> {
  let next = location;
  for (let hop = 0; hop < 5; hop++) {
    if (next.startsWith(REDIRECT)) return new URL(next);
    const res = await agent.get(new URL(next, 'http://127.0.0.1:3000').pathname + new URL(next, 'http://x').search);
    if (res.status !== 303 && res.status !== 302)
      throw new Error(`expected a redirect, got ${res.status}: ${res.text}`);
    next = res.headers.location!;
  }
  throw new Error('too many redirects');
}

/** Opens the login page in WeChat's browser as `openid`: through snsapi_base (the simulator at `simulatorUrl`) and back. */
export async function openInWeChat(agent: Agent, simulatorUrl: string, openid: string, query: Record<string, string>) {
  const started = await agent.get('/oidc/auth').query(query).set('User-Agent', WECHAT_UA);
  const page = started.headers.location!;
  const toWeChat = await agent.get(page).set('User-Agent', WECHAT_UA);
  assert.equal(toWeChat.status, 302);
  assert.ok(toWeChat.headers.location!.startsWith(simulatorUrl), toWeChat.headers.location);
  const authorize = await request(simulatorUrl)
    .get(toWeChat.headers.location!.slice(simulatorUrl.length))
    .set('X-Sim-Openid', openid);
  const back = new URL(authorize.headers.location!);
  assert.equal(back.pathname, `${page}/wechat-oauth`);
  const identified = await agent.get(back.pathname + back.search).set('User-Agent', WECHAT_UA);
  assert.equal(identified.status, 302);
  return { page, shown: await agent.get(identified.headers.location!).set('User-Agent', WECHAT_UA) };
}

/** Binds the WeChat `openid` to the account, as 实名绑定 leaves it (subscribed, no nickname). */
export async function bindWeChat(db: DataSource, accountId: string, openid: string): Promise<void> {
  await db.getRepository(WechatBindingEntity).insert({
    id: randomUUID(),
    accountId,
    openid,
    unionid: null,
    nickname: null,
    subscribed: true,
    boundAt: new Date(),
  });
}
