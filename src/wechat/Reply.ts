/** What the event router answers a push with; `success` tells WeChat there is nothing to show. */
export type Reply = { kind: 'success' } | { kind: 'text'; content: string } | { kind: 'news'; articles: NewsArticle[] };

export interface NewsArticle {
  title: string;
  description: string;
  url: string;
  picUrl?: string;
}

export const SUCCESS: Reply = { kind: 'success' };
export const text = (content: string): Reply => ({ kind: 'text', content });
