import assert from 'node:assert/strict';
import type Koa from 'koa';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';

/**
 * A WeChat user's in-app browser against the H5 pages, through the simulator's OAuth: follows the
 * redirects to WeChat and back, keeps cookies, and reads CSRF tokens and sandbox captcha answers.
 */
export class H5Client {
  readonly agent: TestAgent;

  constructor(
    private readonly app: Koa,
    private readonly simulatorUrl: string,
    readonly openid: string,
    private readonly userAgent = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x18003237) NetType/WIFI Language/zh_CN',
  ) {
    this.agent = request.agent(app.callback());
  }

  /** GETs a page, going through WeChat OAuth when the session has no openid yet. */
  async open(path: string): Promise<request.Response> {
    let res = await this.agent.get(path).set('User-Agent', this.userAgent);
    for (let hops = 0; res.status === 302 && hops < 5; hops++) {
      const location = res.headers.location!;
      if (location.startsWith(this.simulatorUrl)) {
        const authorize = await request(this.simulatorUrl)
          .get(location.slice(this.simulatorUrl.length))
          .set('X-Sim-Openid', this.openid);
        assert.equal(authorize.status, 302, `simulator authorize answered ${authorize.status}: ${authorize.text}`);
        const back = new URL(authorize.headers.location!);
        res = await this.agent.get(back.pathname + back.search).set('User-Agent', this.userAgent);
      } else {
        res = await this.agent.get(location).set('User-Agent', this.userAgent);
      }
    }
    return res;
  }

  /** The `name=value` of the H5 session cookie the browser holds now. */
  sessionCookie(): string | undefined {
    const jar = (
      this.agent as unknown as {
        jar: { getCookie(name: string, access: unknown): { name: string; value: string } | undefined };
      }
    ).jar;
    const cookie = jar.getCookie('etax_h5', { domain: '127.0.0.1', path: '/', secure: false, script: false });
    return cookie ? `${cookie.name}=${cookie.value}` : undefined;
  }

  csrfToken(html: string): string {
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(token, 'page has a CSRF field');
    return token;
  }

  /** Loads a captcha image the way the page does and returns the sandbox answer. */
  async captcha(purpose: string): Promise<string> {
    const res = await this.agent.get(`/h5/captcha?for=${purpose}`).set('User-Agent', this.userAgent);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /svg/);
    return res.headers['x-sandbox-captcha'] as string;
  }

  post(path: string, form: Record<string, string>): Promise<request.Response> {
    return this.agent
      .post(path)
      .set('User-Agent', this.userAgent)
      .type('form')
      .send(form)
      .then((res) => res);
  }

  /** POSTs a form with the CSRF token of the page at `pagePath` (opened first). */
  async submit(pagePath: string, action: string, form: Record<string, string>): Promise<request.Response> {
    const page = await this.open(pagePath);
    return this.post(action, { _csrf: this.csrfToken(page.text), ...form });
  }
}

/** The text a taxpayer sees: tags removed, whitespace folded. */
export function visibleText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z]+;|&#\d+;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
