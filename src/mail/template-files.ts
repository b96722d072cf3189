import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { listStringKeys, type TemplateFile } from './expand.js';
import { noticeKinds, type NoticeKind } from './types.js';

export type TemplateFiles = ReadonlyMap<string, TemplateFile>;

/**
 * Reads the layout, every notice and every partial, by path relative to the templates directory.
 * Each `.mjml` body or partial needs a `.txt` twin naming the same strings.
 */
export async function readTemplateFiles(templatesDir: string): Promise<TemplateFiles> {
  const required = [
    'layout.mjml',
    'layout.txt',
    ...noticeKinds.flatMap((kind) => [`notices/${kind}.mjml`, `notices/${kind}.txt`]),
  ];
  let partialNames: string[] = [];
  try {
    partialNames = (await readdir(path.join(templatesDir, 'partials')))
      .filter((name) => /\.(mjml|txt)$/.test(name))
      .map((name) => `partials/${name}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const files = new Map<string, TemplateFile>();
  await Promise.all(
    [...required, ...partialNames].map(async (name) => {
      const file = path.join(templatesDir, name);
      try {
        files.set(name, { file, source: await readFile(file, 'utf8') });
      } catch (error) {
        throw new Error(`missing template ${file}: ${(error as Error).message}`, { cause: error });
      }
    }),
  );
  checkTextTwins(files);
  return files;
}

export function requireFile(files: TemplateFiles, name: string): TemplateFile {
  const file = files.get(name);
  if (file === undefined) throw new Error(`missing template ${name}`);
  return file;
}

/** The partials a notice's layout may include in one format; `body` is the notice itself. */
export function selectPartials(files: TemplateFiles, kind: NoticeKind, extension: 'mjml' | 'txt'): Map<string, TemplateFile> {
  const partials = new Map<string, TemplateFile>();
  for (const [name, file] of files) {
    const match = /^partials\/(.+)\.(mjml|txt)$/.exec(name);
    if (match?.[2] === extension) partials.set(match[1]!, file);
  }
  partials.set('body', requireFile(files, `notices/${kind}.${extension}`));
  return partials;
}

/** The text part must say what the HTML says: both files of a pair name the same strings. */
function checkTextTwins(files: TemplateFiles): void {
  for (const [name, html] of files) {
    if (name === 'layout.mjml' || !name.endsWith('.mjml')) continue;
    const text = files.get(name.replace(/\.mjml$/, '.txt'));
    if (text === undefined) {
      throw new Error(`missing template ${html.file.replace(/\.mjml$/, '.txt')} (plain-text twin of ${html.file})`);
    }
    // meta.* strings are punctuation that only one of the two formats needs.
    const htmlKeys = new Set([...listStringKeys(html)].filter((key) => !key.startsWith('meta.')));
    const textKeys = new Set([...listStringKeys(text)].filter((key) => !key.startsWith('meta.')));
    const onlyHtml = [...htmlKeys].filter((key) => !textKeys.has(key)).map((key) => `t.${key}`);
    const onlyText = [...textKeys].filter((key) => !htmlKeys.has(key)).map((key) => `t.${key}`);
    const problems = [
      onlyHtml.length > 0 ? `only the HTML uses ${onlyHtml.join(', ')}` : '',
      onlyText.length > 0 ? `only the text uses ${onlyText.join(', ')}` : '',
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new Error(`${text.file} and ${html.file} must use the same strings: ${problems.join('; ')}`);
    }
  }
}
