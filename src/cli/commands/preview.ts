import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { createNoticeRenderer, type NoticeRenderer } from '../../mail/render.js';
import { buildSampleNotice, sampleVariants } from '../../mail/sample.js';
import { locales, noticeKinds, type Locale, type NoticeKind } from '../../mail/types.js';

interface PreviewOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

interface PreviewOptions {
  locale: string;
  variant?: string;
  out?: string;
  text?: boolean;
  list?: boolean;
  all?: boolean;
}

/**
 * `lifecycle preview KIND [--variant NAME] [--locale L] [--out FILE] [--text]`: a notice rendered
 * with sample data; `--list` names every variant; `--all --out DIR` writes every kind × variant × locale.
 */
export function registerPreview(program: Command, output: PreviewOutput = process): void {
  program
    .command('preview')
    .description('render a notice with sample data (HTML on stdout unless --out); --list shows the variants, --all --out DIR writes them all')
    .argument('[kind]', `notice kind: ${noticeKinds.join(', ')}`)
    .addOption(new Option('--variant <name>', 'the situation to render (see --list); default: the first of the kind'))
    .addOption(new Option('--locale <locale>', `locale: ${locales.join(', ')}`).default('en'))
    .addOption(new Option('--out <path>', 'write to FILE (with --all: into DIR) instead of stdout'))
    .addOption(new Option('--text', 'the plain-text part instead of the HTML'))
    .addOption(new Option('--list', 'list every kind and variant'))
    .addOption(new Option('--all', 'render every kind × variant × locale into --out DIR, HTML and text'))
    .action(async (kind: string | undefined, options: PreviewOptions) => {
      if (options.list) {
        output.stdout.write(listVariants(kind === undefined ? undefined : parseKind(kind)));
        return;
      }
      if (options.all) {
        if (options.out === undefined) throw new InputError('preview --all: --out DIR is required (one file per kind, variant and locale)');
        const written = await writeAllPreviews(path.resolve(options.out));
        output.stderr.write(`wrote ${written} previews (sample data) to ${path.resolve(options.out)}\n`);
        return;
      }
      if (kind === undefined) throw new InputError(`preview: a notice kind is required: ${noticeKinds.join(', ')} (or --list, --all)`);
      const parsedKind = parseKind(kind);
      const locale = parseLocale(options.locale);
      const variant = parseVariant(parsedKind, options.variant);
      const notice = (await createNoticeRenderer()).render(buildSampleNotice(parsedKind, locale, variant));
      const content = options.text ? notice.text : notice.html;
      if (options.out === undefined) {
        output.stdout.write(content);
        return;
      }
      const file = path.resolve(options.out);
      await writeFile(file, content);
      output.stderr.write(`wrote ${options.text ? 'text' : 'HTML'} preview of ${kind} (${variant}, ${options.locale}) to ${file}\n`);
    });
}

function listVariants(only: NoticeKind | undefined): string {
  const lines: string[] = [];
  for (const kind of only === undefined ? noticeKinds : [only]) {
    lines.push(kind);
    for (const variant of sampleVariants[kind]) lines.push(`  ${variant.name.padEnd(26)} ${variant.describes}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `{kind}.{variant}.{locale}.html` and `.txt` for every sample: returns how many files. */
async function writeAllPreviews(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const renderer: NoticeRenderer = await createNoticeRenderer();
  let count = 0;
  for (const kind of noticeKinds) {
    for (const variant of sampleVariants[kind]) {
      for (const locale of locales) {
        const notice = renderer.render(buildSampleNotice(kind, locale, variant.name));
        const base = path.join(dir, `${kind}.${variant.name}.${locale}`);
        await writeFile(`${base}.html`, notice.html);
        await writeFile(`${base}.txt`, `Subject: ${notice.subject}\n\n${notice.text}`);
        count += 2;
      }
    }
  }
  return count;
}

function parseKind(kind: string): NoticeKind {
  if ((noticeKinds as readonly string[]).includes(kind)) return kind as NoticeKind;
  throw new InputError(`unknown notice kind "${kind}": expected one of ${noticeKinds.join(', ')}`);
}

function parseVariant(kind: NoticeKind, variant: string | undefined): string {
  const names = sampleVariants[kind].map((candidate) => candidate.name);
  if (variant === undefined) return names[0]!;
  if (names.includes(variant)) return variant;
  throw new InputError(`--variant ${variant}: notice ${kind} has the variants ${names.join(', ')}`);
}

function parseLocale(locale: string): Locale {
  if ((locales as readonly string[]).includes(locale)) return locale as Locale;
  throw new InputError(`unknown locale "${locale}": expected one of ${locales.join(', ')}`);
}
