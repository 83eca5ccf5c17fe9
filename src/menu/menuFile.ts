import { readFileSync } from 'node:fs';
import { childPath, type MenuProblem } from './Menu';

/** The one placeholder a menu file may use, in `url` fields: the service's PUBLIC_URL from config. */
export const PUBLIC_URL_PLACEHOLDER = '${PUBLIC_URL}';

const ANY_PLACEHOLDER = /\$\{[^}]*\}/g;

/** The menu file cannot be read or is not JSON: nothing to validate. */
export class MenuFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MenuFileError';
  }
}

/** Reads and parses a menu file; a JSON syntax error names its line and column. */
export function readMenuFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MenuFileError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    const where = position && !/line \d+/.test(message) ? ` (${lineAndColumn(text, Number(position[1]))})` : '';
    throw new MenuFileError(`${file} is not valid JSON: ${message}${where}`);
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length} column ${(before.at(-1) ?? '').length + 1}`;
}

/**
 * Fills `${PUBLIC_URL}` into every `url` (before any length check: WeChat limits the URL it gets)
 * and reports placeholders that would otherwise reach WeChat verbatim: unknown ones, and any
 * placeholder outside a `url`. Returns a copy; key order is kept, so the JSON sent reads as the file.
 */
export function fillPlaceholders(value: unknown, publicUrl: string): { menu: unknown; problems: MenuProblem[] } {
  const problems: MenuProblem[] = [];
  const walk = (node: unknown, path: string, property: string | null): unknown => {
    if (Array.isArray(node)) return node.map((item, index) => walk(item, childPath(path, index), null));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, child]) => [key, walk(child, childPath(path, key), key)]),
      );
    }
    if (typeof node !== 'string') return node;
    const filled = property === 'url' ? node.split(PUBLIC_URL_PLACEHOLDER).join(publicUrl) : node;
    for (const [placeholder] of filled.matchAll(ANY_PLACEHOLDER)) {
      problems.push({
        path,
        message:
          placeholder === PUBLIC_URL_PLACEHOLDER
            ? `${PUBLIC_URL_PLACEHOLDER} is filled in url fields only`
            : `unknown placeholder ${placeholder}; only ${PUBLIC_URL_PLACEHOLDER} is filled in`,
      });
    }
    return filled;
  };
  return { menu: walk(value, '', null), problems };
}
