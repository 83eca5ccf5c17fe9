import { readdirSync } from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';

/**
 * The wording of every reply, kept in templates/replies so operators change it without code.
 * Templates are nunjucks with auto-escaping on, since WeChat text may carry `<a href>` links;
 * off for plain values that are no markup (template messages' keywords, templates/notices).
 */
export class ReplyTemplates {
  private readonly env: nunjucks.Environment;
  private readonly names: Set<string>;

  constructor(
    private readonly directory: string,
    private readonly common: Record<string, string>,
    options: { autoescape: boolean } = { autoescape: true },
  ) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(directory), {
      autoescape: options.autoescape,
      throwOnUndefined: true,
    });
    this.names = new Set(listTemplates(directory));
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  render(name: string, variables: Record<string, string> = {}): string {
    if (!this.has(name)) throw new Error(`no reply template ${name}`);
    return this.env.render(`${name}.txt`, { ...this.common, ...variables }).trim();
  }
}

function listTemplates(directory: string, prefix = ''): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return listTemplates(path.join(directory, entry.name), `${prefix}${entry.name}/`);
    return entry.name.endsWith('.txt') ? [`${prefix}${entry.name.slice(0, -4)}`] : [];
  });
}
