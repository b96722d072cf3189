/**
 * Renders every notice in every locale to PNG at phone and desktop widths with headless Chromium.
 * Usage: node --import tsx test/visual/render-notices.ts [outDir]   (default bench/out/notices)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createNoticeRenderer } from '../../src/mail/render.js';
import { buildSampleNotice, sampleVariants } from '../../src/mail/sample.js';
import { locales, noticeKinds, type NoticeData } from '../../src/mail/types.js';
import { chromiumArgs, chromiumPath as chromium } from '../helpers/chromium.js';

const widths = [
  { name: 'phone', width: 375, height: 1800 },
  { name: 'desktop', width: 1024, height: 1300 },
] as const;

const run = promisify(execFile);

/** Every sample variant of every kind, in every locale (the same set as `lifecycle preview --all`). */
function listCases(): { name: string; data: NoticeData }[] {
  const cases: { name: string; data: NoticeData }[] = [];
  for (const locale of locales) {
    for (const kind of noticeKinds) {
      for (const variant of sampleVariants[kind]) {
        cases.push({ name: `${kind}.${variant.name}.${locale}`, data: buildSampleNotice(kind, locale, variant.name) });
      }
    }
  }
  return cases;
}

async function screenshot(htmlFile: string, pngFile: string, width: number, height: number): Promise<void> {
  const profile = await mkdtemp(path.join(tmpdir(), 'notice-chromium-'));
  try {
    await run(
      chromium,
      [
        ...chromiumArgs,
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        `--screenshot=${pngFile}`,
        `--window-size=${width},${height}`,
        pathToFileURL(htmlFile).href,
      ],
      { timeout: 60_000 },
    );
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(chromium)) {
    process.stderr.write(`${chromium} not found. Install it with: apt-get update && apt-get install -y chromium fonts-noto-cjk\n`);
    process.exit(1);
  }
  const outDir = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../../bench/out/notices/', import.meta.url)));
  await mkdir(path.join(outDir, 'html'), { recursive: true });
  const renderer = await createNoticeRenderer();
  for (const { name, data } of listCases()) {
    const notice = renderer.render(data);
    const htmlFile = path.join(outDir, 'html', `${name}.html`);
    await writeFile(htmlFile, notice.html);
    await writeFile(path.join(outDir, 'html', `${name}.txt`), `Subject: ${notice.subject}\n\n${notice.text}`);
    for (const { name: size, width, height } of widths) {
      const pngFile = path.join(outDir, `${name}.${size}.png`);
      await screenshot(htmlFile, pngFile, width, height);
      process.stdout.write(`${pngFile}\n`);
    }
  }
}

await main();
