import { childPath, type Menu, type MenuButton } from './Menu';

/** One difference between the menu file and the live menu, at one button. */
export interface MenuDifference {
  kind: 'added' | 'removed' | 'changed';
  /** The button's path in the file (added, changed) or in the live menu (removed). */
  path: string;
  name: string;
  /** What is added or removed, or each change: `url "a" → "b"`, `moved from button[0]`. */
  details: string[];
}

const MARK = { added: '+', removed: '-', changed: '~' } as const;

/** `~ button[0].sub_button[1] "实名注册": url "…" → "…"` */
export function formatDifference(difference: MenuDifference): string {
  const what =
    difference.kind === 'changed'
      ? difference.details.join('; ')
      : `${difference.kind} (${difference.details.join('; ')})`;
  return `${MARK[difference.kind]} ${difference.path} ${JSON.stringify(difference.name)}: ${what}`;
}

/**
 * menu/get's answer in the shape of a menu file: WeChat adds `menuid` and lists every leaf with an
 * empty `sub_button`, neither of which the file has.
 */
export function normalizeLiveMenu(live: unknown): Menu {
  const buttons = (live as { button?: unknown } | null)?.button;
  const clean = (button: MenuButton): MenuButton => {
    const { sub_button: subs, ...rest } = button;
    return Array.isArray(subs) && subs.length > 0 ? { ...rest, sub_button: subs.map(clean) } : rest;
  };
  return { button: Array.isArray(buttons) ? (buttons as MenuButton[]).map(clean) : [] };
}

/**
 * The differences, button by button. Buttons are matched by name within their level (so inserting
 * one reads as one addition, not as every later button changed), then unmatched ones by position
 * (so a rename reads as a change of name). An empty list means WeChat shows exactly the file.
 */
export function diffMenus(file: Menu, live: Menu | null): MenuDifference[] {
  const differences: MenuDifference[] = [];
  diffLevel(file.button, live?.button ?? [], 'button', 'button', differences);
  return differences;
}

function diffLevel(
  fileButtons: MenuButton[],
  liveButtons: MenuButton[],
  filePath: string,
  livePath: string,
  out: MenuDifference[],
): void {
  const liveFor = new Map<number, number>();
  const usedLive = new Set<number>();
  fileButtons.forEach((button, i) => {
    const j = liveButtons.findIndex((candidate, index) => !usedLive.has(index) && candidate.name === button.name);
    if (j !== -1) {
      liveFor.set(i, j);
      usedLive.add(j);
    }
  });
  fileButtons.forEach((_, i) => {
    if (!liveFor.has(i) && i < liveButtons.length && !usedLive.has(i)) {
      liveFor.set(i, i);
      usedLive.add(i);
    }
  });

  fileButtons.forEach((button, i) => {
    const path = childPath(filePath, i);
    const j = liveFor.get(i);
    if (j === undefined) {
      report('added', button, path, out);
      return;
    }
    const liveButton = liveButtons[j]!;
    const livePathOfIt = childPath(livePath, j);
    const details = fieldChanges(liveButton, button);
    // Position within its own list: children of a moved sub-menu moved with it, not on their own.
    if (j !== i) details.push(`moved from ${livePathOfIt}`);
    if (details.length > 0) out.push({ kind: 'changed', path, name: button.name, details });
    const fileSubs = button.sub_button ?? [];
    const liveSubs = liveButton.sub_button ?? [];
    if (fileSubs.length > 0 && liveSubs.length > 0) {
      diffLevel(fileSubs, liveSubs, childPath(path, 'sub_button'), childPath(livePathOfIt, 'sub_button'), out);
    } else {
      // One side is a sub-menu and the other a plain button: its sub-buttons come or go whole.
      fileSubs.forEach((sub, k) => report('added', sub, childPath(childPath(path, 'sub_button'), k), out));
      liveSubs.forEach((sub, k) => report('removed', sub, childPath(childPath(livePathOfIt, 'sub_button'), k), out));
    }
  });
  liveButtons.forEach((button, j) => {
    if (!usedLive.has(j)) report('removed', button, childPath(livePath, j), out);
  });
}

function report(kind: 'added' | 'removed', button: MenuButton, path: string, out: MenuDifference[]): void {
  out.push({ kind, path, name: button.name, details: [describeAction(button)] });
  (button.sub_button ?? []).forEach((sub, k) => report(kind, sub, childPath(childPath(path, 'sub_button'), k), out));
}

/** `click LOGIN_HELP`, `view https://…`, `sub-menu of 3`. */
export function describeAction(button: MenuButton): string {
  if (button.sub_button && button.sub_button.length > 0) return `sub-menu of ${button.sub_button.length}`;
  const target =
    button.key ??
    button.url ??
    button.media_id ??
    button.article_id ??
    (button.appid ? `${button.appid} ${button.pagepath ?? ''}`.trim() : undefined);
  return [button.type ?? '(no type)', target].filter(Boolean).join(' ');
}

const FIELD_ORDER = ['name', 'type', 'key', 'url', 'media_id', 'appid', 'pagepath', 'article_id'];

function fieldChanges(live: MenuButton, file: MenuButton): string[] {
  const liveFields = live as unknown as Record<string, unknown>;
  const fileFields = file as unknown as Record<string, unknown>;
  const names = [...new Set([...FIELD_ORDER, ...Object.keys(liveFields), ...Object.keys(fileFields)])].filter(
    (n) => n !== 'sub_button',
  );
  const changes: string[] = [];
  for (const name of names) {
    const before = liveFields[name];
    const after = fileFields[name];
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    changes.push(`${name} ${show(before)} → ${show(after)}`);
  }
  const liveIsMenu = (live.sub_button?.length ?? 0) > 0;
  const fileIsMenu = (file.sub_button?.length ?? 0) > 0;
  if (liveIsMenu !== fileIsMenu) changes.push(fileIsMenu ? 'now opens a sub-menu' : 'no longer opens a sub-menu');
  return changes;
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
