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

/**
 * The chat line for a 客服 or template message the account sent through the (simulated) API; `index`
 * is its place in the simulator's outbox, which makes the id stable across polls.
 */
export function outboxChatMessage(message: OutboxMessage, index: number): ChatMessage {
  const base = { id: `outbox-${index}`, at: message.at, from: 'account' } as const;
  const body = isRecord(message.body) ? message.body : {};
  if (message.kind === 'template') return { ...base, source: 'template', segments: [], card: templateCard(body) };
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
