/**
 * The placeholder syntax shared by templates and string tables, and the compiled form that
 * rendering fills in:
 * - `{{name}}` a value, `{{#flag}}…{{/flag}}` shown when the flag is set, `{{^flag}}…{{/flag}}` when not;
 * - `{{t.key}}` a string from the locale's table and `{{> name}}` a partial file, both
 *   expanded once at start (see expand.ts), so a compiled template holds neither.
 */

export type Token =
  | { type: 'text'; text: string }
  | { type: 'value'; name: string }
  | { type: 'section'; name: string; isInverted: boolean }
  | { type: 'end'; name: string }
  | { type: 'string'; key: string }
  | { type: 'partial'; name: string };

const tokenPattern = /\{\{\s*([#^/>]?)\s*([^{}\s]+)\s*\}\}/g;

/** Splits a source into tokens; `origin` (a file, or a string key) names it in errors. */
export function tokenize(source: string, origin: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const match of source.matchAll(tokenPattern)) {
    const index = match.index;
    if (index > last) tokens.push(textToken(source.slice(last, index), origin));
    last = index + match[0].length;
    const sigil = match[1] ?? '';
    const name = match[2] ?? '';
    if (sigil === '#' || sigil === '^') tokens.push({ type: 'section', name, isInverted: sigil === '^' });
    else if (sigil === '/') tokens.push({ type: 'end', name });
    else if (sigil === '>') tokens.push({ type: 'partial', name });
    else if (name.startsWith('t.')) tokens.push({ type: 'string', key: name.slice(2) });
    else tokens.push({ type: 'value', name });
  }
  if (last < source.length) tokens.push(textToken(source.slice(last), origin));
  checkSections(tokens, origin);
  return tokens;
}

function textToken(text: string, origin: string): Token {
  const stray = text.indexOf('{{');
  if (stray !== -1) {
    throw new Error(`${origin}: malformed placeholder near "${text.slice(stray, stray + 30)}"`);
  }
  return { type: 'text', text };
}

function checkSections(tokens: readonly Token[], origin: string): void {
  const open: string[] = [];
  for (const token of tokens) {
    if (token.type === 'section') open.push(token.name);
    if (token.type === 'end') {
      const expected = open.pop();
      if (expected !== token.name) {
        throw new Error(
          `${origin}: {{/${token.name}}} closes ${expected === undefined ? 'nothing' : `{{#${expected}}}`}`,
        );
      }
    }
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) throw new Error(`${origin}: {{#${unclosed}}} is never closed`);
}

const literal = 0;
const value = 1;
const section = 2;
const invertedSection = 3;

/** One step of a compiled template; every step has the same shape so the fill loop stays monomorphic. */
interface Step {
  kind: number;
  text: string;
  /** Value or flag index. */
  index: number;
  /** For sections: the step after the section, where a closed section jumps. */
  end: number;
}

export interface CompiledTemplate {
  readonly steps: readonly Step[];
}

export interface PlaceholderNames {
  values: ReadonlyMap<string, number>;
  flags: ReadonlyMap<string, number>;
}

/** Compiles an expanded source (values and sections only) into literal chunks and slots. */
export function compileTemplate(source: string, origin: string, names: PlaceholderNames): CompiledTemplate {
  const steps: Step[] = [];
  const openSections: number[] = [];
  // A section boundary is a jump target: text on either side of it must stay in separate steps.
  let boundary = 0;
  for (const token of tokenize(source, origin)) {
    switch (token.type) {
      case 'text': {
        const previous = steps.at(-1);
        if (previous?.kind === literal && steps.length > boundary) previous.text += token.text;
        else steps.push({ kind: literal, text: token.text, index: -1, end: -1 });
        break;
      }
      case 'value':
        steps.push({ kind: value, text: '', index: lookUp(names.values, token.name, origin), end: -1 });
        break;
      case 'section':
        openSections.push(steps.length);
        steps.push({
          kind: token.isInverted ? invertedSection : section,
          text: '',
          index: lookUp(names.flags, token.name, origin),
          end: -1,
        });
        break;
      case 'end': {
        const start = steps[openSections.pop() ?? -1];
        if (start) start.end = steps.length;
        boundary = steps.length;
        break;
      }
      case 'string':
        throw new Error(`${origin}: string {{t.${token.key}}} left unexpanded`);
      case 'partial':
        throw new Error(`${origin}: partial {{> ${token.name}}} left unexpanded`);
    }
  }
  return { steps };
}

function lookUp(table: ReadonlyMap<string, number>, name: string, origin: string): number {
  const index = table.get(name);
  if (index === undefined) throw new Error(`${origin}: unknown placeholder {{${name}}}`);
  return index;
}

/** Fills a compiled template: no parsing, no regular expressions, one pass over the steps. */
export function fillTemplate(
  template: CompiledTemplate,
  values: readonly string[],
  flags: readonly boolean[],
): string {
  const steps = template.steps;
  const count = steps.length;
  let out = '';
  let i = 0;
  while (i < count) {
    const step = steps[i]!;
    switch (step.kind) {
      case literal:
        out += step.text;
        i++;
        break;
      case value:
        out += values[step.index]!;
        i++;
        break;
      case section:
        i = flags[step.index] ? i + 1 : step.end;
        break;
      default:
        i = flags[step.index] ? step.end : i + 1;
    }
  }
  return out;
}
