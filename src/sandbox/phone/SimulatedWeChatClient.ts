import type { PushDriver } from '../PushDriver';
import type { SimulatedUser } from '../simulator/WeChatSimulator';
import type { ChatMessage } from './ChatMessage';
import { passiveReplyMessage } from './passiveReplyMessage';
import type { PhoneChatLog } from './PhoneChatLog';
import type { PhoneMenuButton } from './PhoneMenu';
import { PhoneRuleError } from './PhoneRuleError';
import { PushFailedError } from './PushFailedError';
import type { ScannableQrCode } from './scannableQrCodes';
import type { SimulatedFollowers } from './SimulatedFollowers';

/** The push a tap produced, as the phone reports it. */
export interface PushSent {
  msgType: 'text' | 'event';
  event?: string;
  eventKey?: string;
}

export interface PushOutcome {
  push: PushSent;
  /** The passive reply as a chat line; null when the account answered `success` (nothing to show). */
  reply: ChatMessage | null;
  following: boolean;
}

export interface SimulatedWeChatClientOptions {
  driver: PushDriver;
  /** The app's own `${PUBLIC_URL}/wechat`: the pushes take the real way in, signature checks included. */
  endpoint: string;
  followers: SimulatedFollowers;
  chat: PhoneChatLog;
  /** The MenuId a VIEW push carries (which menu rule was shown); one per sandbox run. */
  menuId: string;
}

const SUBSCRIBE_SCENE_PREFIX = 'qrscene_';

/**
 * The WeChat app on the sandbox phone: turns what a user does into exactly the push WeChat would
 * send (text, subscribe / unsubscribe, CLICK, VIEW, SCAN or subscribe with `qrscene_`), posts it
 * signed (and encrypted in safe mode) to /wechat, and keeps the chat as the phone shows it. Like
 * the real client it refuses what a user cannot do: messages and menu taps need a follow.
 */
export class SimulatedWeChatClient {
  constructor(private readonly options: SimulatedWeChatClientOptions) {}

  isFollowing(user: SimulatedUser): boolean {
    return this.options.followers.isFollowing(user.openid);
  }

  async sendText(user: SimulatedUser, content: string): Promise<PushOutcome> {
    this.requireFollowing(user);
    this.options.chat.add(user.openid, { from: 'user', source: 'text', segments: [{ text: content }] });
    return this.push(user, this.options.driver.textMessage(user.openid, content), { msgType: 'text' });
  }

  async follow(user: SimulatedUser): Promise<PushOutcome> {
    if (this.isFollowing(user)) throw new PhoneRuleError('already_following');
    // WeChat counts the follow as soon as the user taps, whatever the account's server answers.
    this.options.followers.follow(user.openid);
    this.note(user, '你关注了公众号');
    return this.event(user, 'subscribe', '');
  }

  async unfollow(user: SimulatedUser): Promise<PushOutcome> {
    this.requireFollowing(user);
    this.options.followers.unfollow(user.openid);
    this.note(user, '你已取消关注公众号');
    return this.event(user, 'unsubscribe', '');
  }

  async clickMenu(user: SimulatedUser, button: PhoneMenuButton & { key: string }): Promise<PushOutcome> {
    this.requireFollowing(user);
    this.note(user, `点击了菜单“${button.name}”`);
    return this.event(user, 'CLICK', button.key);
  }

  async viewMenu(user: SimulatedUser, button: PhoneMenuButton & { url: string }): Promise<PushOutcome> {
    this.requireFollowing(user);
    this.note(user, `打开了菜单“${button.name}”`);
    return this.event(user, 'VIEW', button.url, { MenuId: this.options.menuId });
  }

  /** 扫一扫 on a parametric QR: SCAN for a follower; for anyone else the follow and subscribe with `qrscene_`. */
  async scan(user: SimulatedUser, code: ScannableQrCode): Promise<PushOutcome> {
    if (this.isFollowing(user)) {
      this.note(user, '你扫描了二维码');
      return this.event(user, 'SCAN', code.scene, { Ticket: code.ticket });
    }
    this.options.followers.follow(user.openid);
    this.note(user, '你扫描二维码关注了公众号');
    return this.event(user, 'subscribe', `${SUBSCRIBE_SCENE_PREFIX}${code.scene}`, { Ticket: code.ticket });
  }

  private requireFollowing(user: SimulatedUser): void {
    if (!this.isFollowing(user)) throw new PhoneRuleError('not_following');
  }

  private note(user: SimulatedUser, text: string): void {
    this.options.chat.add(user.openid, { from: 'system', source: 'event', segments: [{ text }] });
  }

  private event(
    user: SimulatedUser,
    event: string,
    eventKey: string,
    extra: Record<string, string> = {},
  ): Promise<PushOutcome> {
    return this.push(user, this.options.driver.event(user.openid, event, eventKey, extra), {
      msgType: 'event',
      event,
      eventKey,
    });
  }

  private async push(user: SimulatedUser, xml: string, sent: PushSent): Promise<PushOutcome> {
    const { driver, endpoint } = this.options;
    let response: { status: number; body: string };
    try {
      response = await driver.post(endpoint, driver.sign(xml));
    } catch (error) {
      throw new PushFailedError(`${endpoint} is unreachable: ${(error as Error).message}`, null);
    }
    if (response.status !== 200)
      throw new PushFailedError(`${endpoint} answered HTTP ${response.status}`, response.status);
    let fields: Record<string, string> | null;
    try {
      fields = await driver.readReply(response.body);
    } catch (error) {
      throw new PushFailedError(`the reply of ${endpoint} is unreadable: ${(error as Error).message}`, response.status);
    }
    const reply = fields ? this.options.chat.add(user.openid, passiveReplyMessage(fields)) : null;
    return { push: sent, reply, following: this.isFollowing(user) };
  }
}
