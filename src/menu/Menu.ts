/** One button of a custom menu, as menus/menu.json and /cgi-bin/menu/create spell it. */
export interface MenuButton {
  name: string;
  type?: string;
  key?: string;
  url?: string;
  media_id?: string;
  appid?: string;
  pagepath?: string;
  article_id?: string;
  sub_button?: MenuButton[];
}

/** The body of /cgi-bin/menu/create. */
export interface Menu {
  button: MenuButton[];
}

/** One thing wrong with a menu file: where (`button[0].sub_button[2].name`) and what. */
export interface MenuProblem {
  path: string;
  message: string;
}

export function formatProblem(problem: MenuProblem): string {
  return `${problem.path}: ${problem.message}`;
}

/** `/button/0/sub_button/2` (a JSON pointer) → `button[0].sub_button[2]`. */
export function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

/** Appends a property to a display path. */
export function childPath(path: string, property: string | number): string {
  if (typeof property === 'number') return `${path}[${property}]`;
  return path === '' ? property : `${path}.${property}`;
}
