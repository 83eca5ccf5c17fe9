import path from 'node:path';
import { fillPlaceholders, readMenuFile } from '../../menu/menuFile';

/** A button the phone can tap: `click` sends CLICK with `key`, `view` sends VIEW and opens `url`. */
export interface PhoneMenuButton {
  name: string;
  type: string;
  key?: string;
  url?: string;
  /** Top-level buttons only: the pop-up sub-menu; empty for a button that acts itself. */
  subButtons: PhoneMenuButton[];
}

/**
 * The custom menu as the phone shows it: menus/menu.json with `${PUBLIC_URL}` filled in, read once
 * when the app starts (the file the admin CLI publishes, so the phone shows what users will get).
 * Button types the phone cannot play (scancode_push, miniprogram…) are shown and do nothing.
 */
export class PhoneMenu {
  readonly buttons: PhoneMenuButton[];

  constructor(projectRoot: string, publicUrl: string) {
    const { menu } = fillPlaceholders(readMenuFile(path.join(projectRoot, 'menus', 'menu.json')), publicUrl);
    this.buttons = buttonsOf(isRecord(menu) ? menu.button : undefined, true);
  }

  /** The click button with this key, if the menu has one. */
  clickButton(key: string): PhoneMenuButton | undefined {
    return this.all().find((button) => button.type === 'click' && button.key === key);
  }

  /** The view button with this URL, if the menu has one. */
  viewButton(url: string): PhoneMenuButton | undefined {
    return this.all().find((button) => button.type === 'view' && button.url === url);
  }

  private all(): PhoneMenuButton[] {
    return this.buttons.flatMap((button) => [button, ...button.subButtons]);
  }
}

function buttonsOf(value: unknown, topLevel: boolean): PhoneMenuButton[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((button) => ({
    name: typeof button.name === 'string' ? button.name : '',
    type: typeof button.type === 'string' ? button.type : '',
    ...(typeof button.key === 'string' ? { key: button.key } : {}),
    ...(typeof button.url === 'string' ? { url: button.url } : {}),
    subButtons: topLevel ? buttonsOf(button.sub_button, false) : [],
  }));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
