import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, launchBrowser } from '../support/browser';

/**
 * The README's walkthrough screenshots (docs/screenshots/), made from the last run of
 * test/e2e/seed.test.ts:
 *
 *   npx mocha test/e2e/seed.test.ts && npx tsx test/e2e/docsScreenshots.ts
 *
 * Phone shots are copied as the test took them (the phone frame at device scale 1). Portal shots
 * (1366×900) lose the footer, are scaled to 3/4 and keep 64 levels a colour channel, so the
 * committed PNGs stay small. Chromium's canvas cuts and scales, so no image tool is needed. The
 * clips are in the portal's CSS pixels: check them when the portal's layout changes.
 */
const SHOTS: { from: string; to: string; scale?: number; clip?: Clip }[] = [
  { from: 'seed-1.3.1-portal-qr', to: '1-portal-qr', scale: 0.75, clip: { x: 0, y: 0, width: 1366, height: 736 } },
  { from: 'seed-1.3.1-phone-scan', to: '2-phone-scan' },
  { from: 'seed-1.3.2-phone-not-bound', to: '3-phone-not-bound' },
  { from: 'seed-1.3.4-phone-bind-login-filled', to: '4-phone-bind' },
  { from: 'seed-1.3.5-phone-sms-banner', to: '5-phone-sms' },
  { from: 'seed-1.3.6-phone-bound', to: '6-phone-bound' },
  { from: 'seed-1.3.7-phone-confirm-page', to: '7-phone-confirm' },
  {
    from: 'seed-1.3.7-portal-logged-in',
    to: '8-portal-logged-in',
    scale: 0.75,
    clip: { x: 0, y: 0, width: 1366, height: 566 },
  },
  {
    from: 'seed-2.3.2.2-portal-confirm-dialog',
    to: '9-portal-unbind',
    scale: 0.75,
    clip: { x: 0, y: 0, width: 1366, height: 766 },
  },
];

/** A part of the source picture, in its pixels. */
interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
}

const OUT = path.resolve(__dirname, '../../docs/screenshots');

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    for (const shot of SHOTS) {
      const source = readFileSync(path.join(ARTIFACTS, `${shot.from}.png`));
      let png = source;
      if (shot.scale || shot.clip) {
        const scale = shot.scale ?? 1;
        // Evaluated in the page (a string: this project's type-check has no DOM library).
        const dataUrl = await page.evaluate<string>(`(async () => {
          const img = new Image();
          img.src = 'data:image/png;base64,${source.toString('base64')}';
          await img.decode();
          const clip = ${JSON.stringify(shot.clip ?? null)} ?? { x: 0, y: 0, width: img.naturalWidth, height: img.naturalHeight };
          const canvas = document.createElement('canvas');
          canvas.width = Math.round(clip.width * ${scale});
          canvas.height = Math.round(clip.height * ${scale});
          const context = canvas.getContext('2d');
          context.imageSmoothingQuality = 'high';
          context.drawImage(img, clip.x, clip.y, clip.width, clip.height, 0, 0, canvas.width, canvas.height);
          // 64 levels a channel: drops the dither noise Chromium puts into gradients (half the PNG's
          // size; no visible banding).
          const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
          for (let i = 0; i < pixels.data.length; i += 1) if (i % 4 !== 3) pixels.data[i] = Math.min(255, Math.round(pixels.data[i] / 4) * 4);
          context.putImageData(pixels, 0, 0);
          return canvas.toDataURL('image/png');
        })()`);
        png = Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
      }
      writeFileSync(path.join(OUT, `${shot.to}.png`), png);
      process.stdout.write(
        `docs/screenshots/${shot.to}.png  ${Math.round(png.length / 1024)} KiB  (from test-artifacts/${shot.from}.png)\n`,
      );
    }
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
