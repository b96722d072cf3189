import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { createNoticeRenderer } from '../../mail/render.js';
import { buildSampleNotice } from '../../mail/sample.js';
import { locales, noticeKinds, type Locale, type NoticeKind } from '../../mail/types.js';

interface PreviewOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

interface PreviewOptions {
  locale: string;
  out?: string;
  text?: boolean;
}

/** `lifecycle preview KIND [--locale L] [--out FILE] [--text]`: a notice rendered with sample data. */
export function registerPreview(program: Command, output: PreviewOutput = process): void {
  program
    .command('preview')
    .description('render a notice with sample data (HTML on stdout unless --out)')
    .argument('<kind>', `notice kind: ${noticeKinds.join(', ')}`)
    .addOption(new Option('--locale <locale>', `locale: ${locales.join(', ')}`).default('en'))
    .addOption(new Option('--out <file>', 'write to FILE instead of stdout'))
    .addOption(new Option('--text', 'the plain-text part instead of the HTML'))
    .action(async (kind: string, options: PreviewOptions) => {
      const notice = await renderPreview(parseKind(kind), parseLocale(options.locale));
      const content = options.text ? notice.text : notice.html;
      if (options.out === undefined) {
        output.stdout.write(content);
        return;
      }
      const file = path.resolve(options.out);
      await writeFile(file, content);
      output.stderr.write(`wrote ${options.text ? 'text' : 'HTML'} preview of ${kind} (${options.locale}) to ${file}\n`);
    });
}

async function renderPreview(kind: NoticeKind, locale: Locale) {
  const renderer = await createNoticeRenderer();
  return renderer.render(buildSampleNotice(kind, locale));
}

function parseKind(kind: string): NoticeKind {
  if ((noticeKinds as readonly string[]).includes(kind)) return kind as NoticeKind;
  throw new InputError(`unknown notice kind "${kind}": expected one of ${noticeKinds.join(', ')}`);
}

function parseLocale(locale: string): Locale {
  if ((locales as readonly string[]).includes(locale)) return locale as Locale;
  throw new InputError(`unknown locale "${locale}": expected one of ${locales.join(', ')}`);
}
