import type { Logger } from '../logging/createLogger';
import type { BindingStore } from '../binding/BindingStore';
import type { PushMessage } from './PushMessage';
import { SUCCESS, text, type Reply } from './Reply';
import type { ReplyTemplates } from './ReplyTemplates';
import type { SceneRegistry, SceneScan } from './SceneRegistry';

const SUBSCRIBE_SCENE_PREFIX = 'qrscene_';

// Checked in order: 解绑 first, since "解除绑定" also contains 绑定; 登录记录 before 登录.
const KEYWORDS: [RegExp, string][] = [
  [/(登录|登陆)记录/, 'keyword-logins'],
  [/解绑|解除绑定/, 'keyword-unbind'],
  [/绑定/, 'keyword-bind'],
  [/注册/, 'keyword-register'],
  [/登录|登陆|扫码/, 'keyword-login'],
];

export interface EventRouterDependencies {
  templates: ReplyTemplates;
  scenes: SceneRegistry;
  bindings: BindingStore;
  logger: Logger;
}

/** Turns one verified, de-duplicated push into the state changes it asks for and the reply to send. */
export class EventRouter {
  constructor(private readonly deps: EventRouterDependencies) {}

  async route(message: PushMessage): Promise<Reply> {
    if (message.msgType === 'text') return this.onText(message.content ?? '');
    if (message.msgType !== 'event') return this.reply('help');
    switch (message.event) {
      case 'subscribe':
        return this.onSubscribe(message);
      case 'SCAN':
        return this.onScan(message, message.eventKey ?? '', false);
      case 'unsubscribe':
        await this.deps.bindings.setSubscribed(message.fromUserName, false);
        return SUCCESS;
      case 'CLICK':
        return this.onClick(message.eventKey ?? '');
      default:
        // VIEW (the client is already navigating), TEMPLATESENDJOBFINISH and the rest: nothing to say.
        return SUCCESS;
    }
  }

  private onText(content: string): Reply {
    const match = KEYWORDS.find(([pattern]) => pattern.test(content));
    return this.reply(match ? match[1] : 'help');
  }

  private async onSubscribe(message: PushMessage): Promise<Reply> {
    await this.deps.bindings.setSubscribed(message.fromUserName, true);
    const key = message.eventKey ?? '';
    const welcome = this.deps.templates.render('welcome');
    if (!key.startsWith(SUBSCRIBE_SCENE_PREFIX)) return text(welcome);
    const scanned = await this.onScan(message, key.slice(SUBSCRIBE_SCENE_PREFIX.length), true);
    // One passive reply per push: the scan's answer matters more, so it comes first.
    return scanned.kind === 'text' ? text(`${scanned.content}\n\n${welcome}`) : scanned;
  }

  private async onScan(message: PushMessage, scene: string, viaSubscribe: boolean): Promise<Reply> {
    const handler = this.deps.scenes.find(scene);
    if (!handler) return this.reply('qr-expired');
    const scan: SceneScan = {
      openid: message.fromUserName,
      scene,
      viaSubscribe,
      scannedAt: Number(message.createTime) * 1000,
    };
    if (message.ticket) scan.ticket = message.ticket;
    return handler(scan);
  }

  private onClick(key: string): Reply {
    const name = `click/${key}`;
    if (/^[A-Za-z0-9_-]{1,128}$/.test(key) && this.deps.templates.has(name)) return this.reply(name);
    this.deps.logger.warn({ key }, 'menu click without a reply template');
    return this.reply('help');
  }

  private reply(name: string): Reply {
    return text(this.deps.templates.render(name));
  }
}
