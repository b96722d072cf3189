import { escapeHtml } from './format.js';
import { formatStringAsHtml, formatStringAsText, type StringTable } from './strings.js';
import { tokenize, type PlaceholderNames } from './template.js';
import type { NoticeKind } from './types.js';

export interface TemplateFile {
  readonly file: string;
  readonly source: string;
}

export interface ExpandContext {
  kind: NoticeKind;
  format: 'html' | 'text';
  strings: StringTable;
  /** Partials by name; `body` is the notice's own file. */
  partials: ReadonlyMap<string, TemplateFile>;
  names: PlaceholderNames;
  /** Values kept on one line in HTML (dates). */
  unbreakable: ReadonlySet<string>;
}

/** Subjects and preheaders end up in <title>, an aria-label attribute and a hidden preview: plain text even in HTML. */
const plainKey = /\.(subject|preheader)$/;

const maxDepth = 8;

/**
 * Replaces `{{t.key}}` and `{{> partial}}` recursively, leaving only values and sections.
 * `@` in a key stands for the notice kind, so the shared layout can say `{{t.@.subject}}`.
 */
export function expandTemplate(template: TemplateFile, context: ExpandContext): string {
  return expandSource(template.source, template.file, context, 0, false);
}

function expandSource(
  source: string,
  origin: string,
  context: ExpandContext,
  depth: number,
  isPlain: boolean,
): string {
  if (depth > maxDepth) throw new Error(`${origin}: strings or partials nest more than ${maxDepth} deep (a loop?)`);
  let out = '';
  for (const token of tokenize(source, origin)) {
    switch (token.type) {
      case 'text':
        out += token.text;
        break;
      case 'value':
        checkKnown(context.names.values, token.name, origin);
        out += `{{${token.name}}}`;
        break;
      case 'section':
        checkKnown(context.names.flags, token.name, origin);
        out += `{{${token.isInverted ? '^' : '#'}${token.name}}}`;
        break;
      case 'end':
        out += `{{/${token.name}}}`;
        break;
      case 'string': {
        const key = token.key.startsWith('@.') ? `${context.kind}${token.key.slice(1)}` : token.key;
        const text = context.strings.strings.get(key);
        if (text === undefined) {
          throw new Error(`${origin}: string "${key}" is missing from ${context.strings.file}`);
        }
        const isPlainString = isPlain || plainKey.test(key);
        const formatted =
          context.format === 'text'
            ? formatStringAsText(text)
            : isPlainString
              ? escapeHtml(formatStringAsText(text))
              : formatStringAsHtml(text, context.unbreakable);
        out += expandSource(formatted, `${context.strings.file}: "${key}"`, context, depth + 1, isPlainString);
        break;
      }
      case 'partial': {
        const partial = context.partials.get(token.name);
        if (partial === undefined) throw new Error(`${origin}: unknown partial {{> ${token.name}}}`);
        // A partial file's final newline belongs to the line that includes it.
        const source = partial.source.endsWith('\n') ? partial.source.slice(0, -1) : partial.source;
        out += expandSource(source, partial.file, context, depth + 1, isPlain);
        break;
      }
    }
  }
  return out;
}

function checkKnown(table: ReadonlyMap<string, number>, name: string, origin: string): void {
  if (!table.has(name)) throw new Error(`${origin}: unknown placeholder {{${name}}}`);
}

/** The `t.` keys a file names itself, for checking that a notice's text part says what its HTML says. */
export function listStringKeys(template: TemplateFile): Set<string> {
  const keys = new Set<string>();
  for (const token of tokenize(template.source, template.file)) {
    if (token.type === 'string') keys.add(token.key);
  }
  return keys;
}

const sectionLine = /^[ \t]*(\{\{[#^/][\w.]+\}\}[ \t]*)+$/;

/** Text parts: a line holding only section tags disappears with its newline, so sections do not leave blank lines. */
export function dropSectionOnlyLines(text: string): string {
  const lines = text.split('\n');
  let out = '';
  for (const [i, line] of lines.entries()) {
    if (sectionLine.test(line)) out += line.replace(/[ \t]/g, '');
    else out += i < lines.length - 1 ? `${line}\n` : line;
  }
  return out;
}
