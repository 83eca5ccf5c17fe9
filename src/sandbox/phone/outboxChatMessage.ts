import { templateKeywords, type MessageTemplate } from '../simulator/MessageTemplates';
import type { OutboxMessage } from '../simulator/WeChatSimulator';
import type { ChatCard, ChatMessage } from './ChatMessage';
import { textSegments } from './textSegments';

// How WeChat's chat list previews the types it does not show inline.
const TYPE_LABELS: Record<string, string> = {
  image: '[图片]',
  voice: '[语音]',
  video: '[视频]',
  music: '[音乐]',
  mpnews: '[图文]',
  mpnewsarticle: '[图文]',
  msgmenu: '[菜单消息]',
  wxcard: '[卡券]',
  miniprogrampage: '[小程序]',
};

/** WeChat shows at most this many characters of a keyword's value, then "…" (since 2023-05-04). */
const SHOWN_VALUE_CHARACTERS = 20;

/**
 * The chat line for a 客服 or template message the account sent through the (simulated) API; `index`
 * is its place in the simulator's outbox, which makes the id stable across polls. A template the
 * simulator knows (我的模板) shows as WeChat shows it: its title, each keyword's label and value.
 */
export function outboxChatMessage(
  message: OutboxMessage,
  index: number,
  templates: (templateId: string) => MessageTemplate | undefined = () => undefined,
): ChatMessage {
  const base = { id: `outbox-${index}`, at: message.at, from: 'account' } as const;
  const body = isRecord(message.body) ? message.body : {};
  if (message.kind === 'template') {
    const template = typeof body.template_id === 'string' ? templates(body.template_id) : undefined;
    const card = template ? knownTemplateCard(body, template) : templateCard(body);
    return { ...base, source: 'template', segments: [], card };
  }
  const msgtype = typeof body.msgtype === 'string' ? body.msgtype : '';
  if (msgtype === 'text') {
    const content = isRecord(body.text) && typeof body.text.content === 'string' ? body.text.content : '';
    return { ...base, source: 'custom', segments: textSegments(content) };
  }
  if (msgtype === 'news') {
    const articles = isRecord(body.news) && Array.isArray(body.news.articles) ? body.news.articles : [];
    const article: unknown = articles[0];
    if (isRecord(article)) {
      return {
        ...base,
        source: 'custom',
        segments: [],
        card: { title: text(article.title), description: text(article.description), url: httpUrl(article.url) },
      };
    }
  }
  return { ...base, source: 'custom', segments: [{ text: TYPE_LABELS[msgtype] ?? `[${msgtype || '未知'} 消息]` }] };
}

/** Since 2023 WeChat shows a template's title and its keywords, each value cut at 20 characters; no first or remark. */
function knownTemplateCard(body: Record<string, unknown>, template: MessageTemplate): ChatCard {
  const data = isRecord(body.data) ? body.data : {};
  const fields = templateKeywords(template.content).map(({ label, keyword }) => {
    const value = isRecord(data[keyword]) ? text(data[keyword].value) : '';
    const characters = Array.from(value);
    return {
      label,
      value:
        characters.length > SHOWN_VALUE_CHARACTERS ? `${characters.slice(0, SHOWN_VALUE_CHARACTERS).join('')}…` : value,
    };
  });
  return { title: template.title, description: '', fields, url: httpUrl(body.url) };
}

/** A template message reads as its `first` line, then `keyword…: value` lines, then `remark`. */
function templateCard(body: Record<string, unknown>): ChatCard {
  const data = isRecord(body.data) ? body.data : {};
  const valueOf = (name: string): string => (isRecord(data[name]) ? text(data[name].value) : '');
  const lines = Object.keys(data)
    .filter((name) => name !== 'first' && name !== 'remark')
    .map(valueOf)
    .filter((line) => line !== '');
  const remark = valueOf('remark');
  return {
    title: valueOf('first') || '模板消息',
    description: [...lines, ...(remark === '' ? [] : [remark])].join('\n'),
    url: httpUrl(body.url),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function httpUrl(value: unknown): string | null {
  return typeof value === 'string' && /^https?:\/\//i.test(value) ? value : null;
}
