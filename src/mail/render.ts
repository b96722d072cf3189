import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermanentError } from '../errors.js';
import { dropSectionOnlyLines, expandTemplate } from './expand.js';
import { createLocaleFormat } from './format.js';
import { buildNoticeValues, dateValueNames, flagIndexes, valueIndexes } from './notice-values.js';
import { loadStringTables } from './strings.js';
import { readTemplateFiles, requireFile, selectPartials } from './template-files.js';
import { compileTemplate, fillTemplate, type CompiledTemplate, type PlaceholderNames } from './template.js';
import { locales, noticeKinds, type Locale, type NoticeData, type NoticeKind, type RenderedNotice } from './types.js';

export interface NoticeRenderer {
  /** Fills the templates compiled at start; never runs MJML. Throws PermanentError on malformed data. */
  render(data: NoticeData): RenderedNotice;
}

export interface NoticeRendererOptions {
  /** @defaultValue the package's `templates/` directory */
  templatesDir?: string;
}

/** One notice in one locale with strings and partials expanded; only values and sections remain. */
export interface NoticeSources {
  /** The notice's own file, for error messages. */
  origin: string;
  mjml: string;
  text: string;
  subject: string;
}

export const placeholderNames: PlaceholderNames = { values: valueIndexes, flags: flagIndexes };

/** src/mail and dist/mail are both two levels below the package root. */
export function findDefaultTemplatesDir(): string {
  return fileURLToPath(new URL('../../templates/', import.meta.url));
}

/** Reads and checks every template and string, and expands them for every kind and locale. */
export async function expandNoticeSources(
  options: NoticeRendererOptions = {},
): Promise<Map<NoticeKind, Map<Locale, NoticeSources>>> {
  const templatesDir = path.resolve(options.templatesDir ?? findDefaultTemplatesDir());
  const [files, tables] = await Promise.all([
    readTemplateFiles(templatesDir),
    loadStringTables(templatesDir, placeholderNames),
  ]);
  const sources = new Map<NoticeKind, Map<Locale, NoticeSources>>();
  for (const kind of noticeKinds) {
    const byLocale = new Map<Locale, NoticeSources>();
    for (const locale of locales) {
      const strings = tables[locale];
      const expand = (file: string, format: 'html' | 'text', extension: 'mjml' | 'txt'): string =>
        expandTemplate(requireFile(files, file), {
          kind,
          format,
          strings,
          partials: selectPartials(files, kind, extension),
          names: placeholderNames,
          unbreakable: dateValueNames,
        });
      byLocale.set(locale, {
        origin: `${requireFile(files, `notices/${kind}.mjml`).file} (${locale})`,
        mjml: expand('layout.mjml', 'html', 'mjml'),
        text: `${dropSectionOnlyLines(expand('layout.txt', 'text', 'txt')).trim()}\n`,
        subject: expandTemplate(
          { file: `${strings.file}: "${kind}.subject"`, source: '{{t.@.subject}}' },
          { kind, format: 'text', strings, partials: new Map(), names: placeholderNames, unbreakable: dateValueNames },
        ),
      });
    }
    sources.set(kind, byLocale);
  }
  return sources;
}

interface CompiledNotice {
  subject: CompiledTemplate;
  html: CompiledTemplate;
  text: CompiledTemplate;
}

/**
 * Compiles every notice kind in every locale once (MJML included) and checks every string and
 * placeholder, so a missing template or string stops start-up instead of failing a send.
 */
export async function createNoticeRenderer(options: NoticeRendererOptions = {}): Promise<NoticeRenderer> {
  const [sources, { default: mjml2html }] = await Promise.all([expandNoticeSources(options), import('mjml')]);
  const compiled = new Map<NoticeKind, Map<Locale, CompiledNotice>>();
  for (const [kind, byLocale] of sources) {
    const compiledByLocale = new Map<Locale, CompiledNotice>();
    for (const [locale, source] of byLocale) {
      const html = await compileMjml(mjml2html, source.mjml, source.origin);
      compiledByLocale.set(locale, {
        subject: compileTemplate(source.subject, source.origin, placeholderNames),
        html: compileTemplate(collapseWhitespace(html), source.origin, placeholderNames),
        text: compileTemplate(source.text, source.origin, placeholderNames),
      });
    }
    compiled.set(kind, compiledByLocale);
  }
  const formats = new Map(locales.map((locale) => [locale, createLocaleFormat(locale)]));

  return {
    render(data) {
      const byLocale = compiled.get(data.kind);
      if (byLocale === undefined) {
        throw new PermanentError(`unknown notice kind "${data.kind}": expected one of ${noticeKinds.join(', ')}`);
      }
      // SPEC §2: an unknown locale falls back to English.
      const locale: Locale = byLocale.has(data.locale) ? data.locale : 'en';
      const notice = byLocale.get(locale)!;
      const values = buildNoticeValues(data, formats.get(locale)!);
      return {
        subject: fillTemplate(notice.subject, values.text, values.flags),
        html: fillTemplate(notice.html, values.html, values.flags),
        text: fillTemplate(notice.text, values.text, values.flags),
      };
    },
  };
}

type Mjml2Html = typeof import('mjml');

/** Runs MJML with strict validation; the placeholders pass through it untouched. */
export async function compileMjml(mjml2html: Mjml2Html, source: string, origin: string): Promise<string> {
  try {
    const result = await mjml2html(source, { validationLevel: 'strict', fonts: {}, keepComments: false });
    return result.html;
  } catch (error) {
    const details = (error as { errors?: { formattedMessage?: string }[] }).errors
      ?.map((detail) => detail.formattedMessage)
      .join('; ');
    throw new Error(`${origin}: invalid MJML (layout and partials included): ${details ?? (error as Error).message}`, {
      cause: error,
    });
  }
}

/** MJML's indentation and blank lines mean nothing in HTML; dropping them once makes every message smaller. */
function collapseWhitespace(html: string): string {
  return html.replace(/[ \t]*\n\s*/g, '\n');
}
