/**
 * A template of 我的模板 in 微信公众平台: its title and content, one `label：{{keyword.DATA}}` line
 * per keyword, as /cgi-bin/template/get_all_private_template lists it.
 */
export interface MessageTemplate {
  template_id: string;
  title: string;
  content: string;
  example: string;
}

/** One keyword line of a template: what WeChat shows left of the value, and the data key it reads. */
export interface TemplateKeyword {
  label: string;
  keyword: string;
}

const KEYWORD_LINE = /^(.+?)[：:]\s*\{\{\s*([A-Za-z][A-Za-z0-9_]*)\.DATA\s*\}\}\s*$/;

/** The keyword lines of a template's content, in order (lines without a keyword are left out). */
export function templateKeywords(content: string): TemplateKeyword[] {
  return content.split('\n').flatMap((line) => {
    const match = KEYWORD_LINE.exec(line.trim());
    return match ? [{ label: match[1]!.trim(), keyword: match[2]! }] : [];
  });
}
