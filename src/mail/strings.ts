import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { escapeHtml } from './format.js';
import { tokenize } from './template.js';
import { locales, type Locale } from './types.js';

/** A locale's strings by dotted key ("remind-before.subject"). */
export interface StringTable {
  readonly file: string;
  readonly strings: ReadonlyMap<string, string>;
}

export type StringTables = Record<Locale, StringTable>;

/**
 * Loads `strings/{locale}.json` for every locale and checks, before anything is sent, that both
 * tables have the same keys and that every placeholder in them is a known value or flag.
 */
export async function loadStringTables(
  templatesDir: string,
  known: { values: ReadonlyMap<string, number>; flags: ReadonlyMap<string, number> },
): Promise<StringTables> {
  const entries = await Promise.all(
    locales.map(async (locale) => [locale, await readStringTable(templatesDir, locale)] as const),
  );
  const tables = Object.fromEntries(entries) as StringTables;
  checkSameKeys(tables);
  for (const table of Object.values(tables)) checkPlaceholders(table, known);
  return tables;
}

async function readStringTable(templatesDir: string, locale: Locale): Promise<StringTable> {
  const file = path.join(templatesDir, 'strings', `${locale}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`string table ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const strings = new Map<string, string>();
  flatten(parsed, '', file, strings);
  return { file, strings };
}

function flatten(node: unknown, prefix: string, file: string, into: Map<string, string>): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new Error(`${file}: "${prefix || '(root)'}" must be an object of strings`);
  }
  for (const [key, value] of Object.entries(node)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') into.set(dotted, value);
    else flatten(value, dotted, file, into);
  }
}

function checkSameKeys(tables: StringTables): void {
  const problems: string[] = [];
  const allKeys = new Set(Object.values(tables).flatMap((table) => [...table.strings.keys()]));
  for (const table of Object.values(tables)) {
    const missing = [...allKeys].filter((key) => !table.strings.has(key));
    if (missing.length > 0) problems.push(`${table.file}: missing string ${missing.map((key) => `"${key}"`).join(', ')}`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

function checkPlaceholders(
  table: StringTable,
  known: { values: ReadonlyMap<string, number>; flags: ReadonlyMap<string, number> },
): void {
  for (const [key, text] of table.strings) {
    const origin = `${table.file}: "${key}"`;
    for (const token of tokenize(text, origin)) {
      if (token.type === 'value' && !known.values.has(token.name)) {
        throw new Error(`${origin}: unknown placeholder {{${token.name}}}`);
      }
      if (token.type === 'section' && !known.flags.has(token.name)) {
        throw new Error(`${origin}: unknown flag {{#${token.name}}}`);
      }
      if (token.type === 'partial') throw new Error(`${origin}: a string cannot include a partial`);
      if (token.type === 'string' && !token.key.startsWith('@.') && !table.strings.has(token.key)) {
        throw new Error(`${origin}: unknown string {{t.${token.key}}}`);
      }
    }
  }
}

const boldPattern = /\*\*(.+?)\*\*/g;
const linkPattern = /\[([^\]]+)\]\((\{\{\s*[\w.]+\s*\}\})\)/g;

const valuePattern = /\{\{(\w+)\}\}/g;

/**
 * A string as HTML: escaped, `**bold**` as <strong>, `[label]({{url}})` as a link, and the
 * `unbreakable` values (dates) kept on one line: a phone otherwise splits "2021年3月10日" after "10".
 */
export function formatStringAsHtml(text: string, unbreakable: ReadonlySet<string>): string {
  return escapeHtml(text)
    .replace(boldPattern, '<strong>$1</strong>')
    .replace(linkPattern, '<a href="$2" style="color:#0f6cbd;text-decoration:underline">$1</a>')
    .replace(valuePattern, (placeholder, name: string) =>
      unbreakable.has(name) ? `<span style="white-space:nowrap">${placeholder}</span>` : placeholder,
    );
}

/** The same string as plain text: markers dropped, a link's address after its label. */
export function formatStringAsText(text: string): string {
  return text.replace(boldPattern, '$1').replace(linkPattern, '$1 ($2)');
}
