import type { ChatCard } from './ChatMessage';
import type { NewChatMessage } from './PhoneChatLog';
import { textSegments } from './textSegments';

/**
 * The chat line for a passive reply, from the reply's elements as PushDriver.readReply returns them
 * (nested elements arrive as JSON text). Text and news are what the account answers; any other type
 * is shown as WeChat would show a message it cannot render inline.
 */
export function passiveReplyMessage(fields: Record<string, string>): NewChatMessage {
  const base = { from: 'account', source: 'reply' } as const;
  if (fields.MsgType === 'text') return { ...base, segments: textSegments(fields.Content ?? '') };
  if (fields.MsgType === 'news') {
    const card = firstArticle(fields.Articles);
    if (card) return { ...base, segments: [], card };
  }
  return { ...base, segments: [{ text: `[${fields.MsgType ?? '未知'} 消息]` }] };
}

/** `<Articles><item>…</item>…</Articles>`: xml2js gives one item as an object, several as an array. */
function firstArticle(articlesJson: string | undefined): ChatCard | null {
  if (articlesJson === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(articlesJson);
  } catch {
    return null;
  }
  const items = isRecord(parsed) ? parsed.item : undefined;
  const first: unknown = Array.isArray(items) ? items[0] : items;
  if (!isRecord(first)) return null;
  return {
    title: stringOr(first.Title, ''),
    description: stringOr(first.Description, ''),
    url: typeof first.Url === 'string' && /^https?:\/\//i.test(first.Url) ? first.Url : null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}
