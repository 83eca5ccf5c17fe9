/** A run of a chat bubble's text; with `href` it is a link the user can tap. */
export interface TextSegment {
  text: string;
  href?: string;
}

// WeChat renders exactly this tag in text messages; everything else is shown as typed.
const ANCHOR = /<a\s+href\s*=\s*(["'])(.*?)\1[^>]*>([\s\S]*?)<\/a>/gi;

/**
 * Splits a WeChat text message into plain runs and links, as the WeChat client shows it. Only
 * http(s) targets become links, so a reply can never smuggle a `javascript:` URL into the phone.
 */
export function textSegments(content: string): TextSegment[] {
  const segments: TextSegment[] = [];
  const pushText = (text: string) => {
    if (text !== '') segments.push({ text });
  };
  let last = 0;
  for (const match of content.matchAll(ANCHOR)) {
    pushText(content.slice(last, match.index));
    const href = decodeAmpersands(match[2] ?? '');
    const label = match[3] ?? '';
    if (/^https?:\/\//i.test(href)) segments.push({ text: label === '' ? href : label, href });
    else pushText(match[0]);
    last = match.index + match[0].length;
  }
  pushText(content.slice(last));
  return segments;
}

/** Links written by an HTML-minded author carry `&amp;` between query parameters. */
function decodeAmpersands(href: string): string {
  return href.replace(/&amp;/g, '&');
}
