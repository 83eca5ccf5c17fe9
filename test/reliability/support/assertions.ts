import assert from 'node:assert/strict';
import type request from 'supertest';
import { visibleText } from '../../support/H5Client';

/** The passive reply WeChat gets when handling a push failed (templates/replies/service-unavailable.txt). */
export const APOLOGY = '抱歉，系统繁忙，请稍后再试。';

/** What the phone shows when a dependency is down: a page, not a stack trace or a bare status. */
export function assertFriendlyPage(res: request.Response): void {
  assert.equal(res.status, 503, res.text);
  assert.match(res.headers['content-type'] ?? '', /text\/html/);
  const shown = visibleText(res.text);
  assert.match(shown, /服务暂时不可用/);
  assert.match(shown, /系统繁忙，请稍后再试/);
  assert.doesNotMatch(res.text, /Error|at .*\.ts:\d+|ECONN|redis|mysql/i);
}

/** What the API answers when a dependency is down: 503 `service_unavailable`, retry advised. */
export function assertServiceUnavailable(res: request.Response): void {
  assert.equal(res.status, 503, res.text);
  assert.match(res.headers['content-type'] ?? '', /application\/json/);
  assert.equal(res.body.error.code, 'service_unavailable', res.text);
  assert.equal(typeof res.body.error.message, 'string');
  assert.equal(res.headers['retry-after'], '5');
}
