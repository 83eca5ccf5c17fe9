import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x18003237) NetType/WIFI Language/zh_CN';
export const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

/** Debian's headless Chromium, as this machine and CI have it; says what to install when it is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium package (README: prerequisites) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A phone-sized page with WeChat's in-app browser user agent. */
export function phoneContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    userAgent: WECHAT_UA,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, `${name}.png`);
}

/**
 * Resolves once an <img> has loaded: at once, or on its load event. (A function, not a string:
 * the pages' CSP has no 'unsafe-eval', so a string predicate polled in the page can be refused.)
 */
export function imageLoaded(img: Locator): Promise<void> {
  return img.evaluate(
    (node) =>
      new Promise<void>((resolve, reject) => {
        const image = node as unknown as {
          complete: boolean;
          naturalWidth: number;
          addEventListener(type: string, listener: () => void): void;
        };
        if (image.complete) {
          if (image.naturalWidth > 0) resolve();
          else reject(new Error('the image did not load'));
          return;
        }
        image.addEventListener('load', () => resolve());
        image.addEventListener('error', () => reject(new Error('the image did not load')));
      }),
  );
}
