/**
 * The one place that bounds input (README "Input limits"): the import, the CSV reader and the
 * admin API all check against these. Every text the daemon stores ends up in an email, a file
 * name, a job id or a terminal, so none is unbounded.
 */

/**
 * Ids (partners, subscriptions): 1–64 characters of `A-Z a-z 0-9 . _ -`, the first a letter or
 * a digit. ASCII only, so no bidirectional override or look-alike reaches a Message-ID; no `/`
 * or `:` (URL paths, BullMQ job ids); not `.`/`..` (URL paths) nor `-x` (a CLI option). The
 * widest id, `.` encoded as `=2E`, keeps an outbox file name under 255 bytes.
 */
export const idMaxLength = 64;
export const idCharacters = 'A-Z a-z 0-9 . _ -';
/** The same rule as a JSON-schema pattern, for the API's route parameters. */
export const idPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,${idMaxLength - 1}}$`;

/** The most characters each imported text field may hold. */
export const textLimits = {
  name: 200,
  email: 254,
  addressLine: 200,
  city: 100,
  region: 100,
  postalCode: 20,
  country: 100,
  competencyArea: 100,
  paymentToken: 200,
  phone: 40,
  ticket: 100,
} as const;
export type TextKind = keyof typeof textLimits;

/** Contacts per partner. */
export const maxContacts = 50;

/**
 * The bytes of one record (a JSON element, a CSV row). Far above any valid record (~60 KB with
 * 50 contacts), so an oversized field is still named by its own limit; a longer one is refused
 * as it is read, before it is joined into a string JavaScript cannot hold.
 */
export const maxRecordBytes = 64 * 1024 * 1024;

function isIdCharacter(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x2d // -
  );
}

function isAlphanumeric(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39);
}

/** A control character: C0, DEL or C1 (ESC, CR and LF among them). */
export function isControlCode(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** Bidirectional embeddings, overrides and isolates: they reorder how a line is displayed. */
export function isBidiControlCode(code: number): boolean {
  return (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

/** `52,428,800`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `U+000A`. */
function describeCode(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * What is wrong with `value` as an id, or null when it is a valid one. Reads character codes
 * rather than matching a pattern: an import checks two ids per subscription.
 */
export function checkId(value: string): string | null {
  if (value.length > idMaxLength) return `${formatCount(value.length)} characters, at most ${idMaxLength}`;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (i === 0 ? !isAlphanumeric(code) : !isIdCharacter(code)) {
      const shown = isControlCode(code) || isBidiControlCode(code) || code > 0x7e ? describeCode(code) : `"${value[i]}"`;
      const rule = `ids are 1-${idMaxLength} characters of ${idCharacters}, the first a letter or a digit`;
      return `${quoteValue(value)} is not a valid id: ${shown} at character ${i + 1} (${rule})`;
    }
  }
  return value.length === 0 ? 'is required' : null;
}

export function isId(value: string): boolean {
  return checkId(value) === null;
}

/**
 * What is wrong with `value` as one line of text of at most `max` characters, or null: too long,
 * or holding a control character (a line break in a name would forge lines in an email's
 * headers, an invoice or a terminal).
 */
export function checkLine(value: string, max: number): string | null {
  if (value.length > max) return `${formatCount(value.length)} characters, at most ${formatCount(max)}`;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (isControlCode(code)) return `control character ${describeCode(code)} at character ${i + 1} (one line of text expected)`;
  }
  return null;
}

/** A value quoted for a problem line: at most 40 characters of it, control characters escaped. */
export function quoteValue(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return `"${escapeControls(shown)}"`;
}

/**
 * `text` safe to write to a terminal or a one-line field: C0 and C1 controls, DEL and
 * bidirectional controls become visible escapes (`\x1b`, `\u202e`); line breaks only when
 * `keepNewlines`. Returns `text` itself when nothing needs escaping (the usual case).
 */
export function escapeControls(text: string, keepNewlines = false): string {
  let i = 0;
  for (; i < text.length; i++) if (needsEscape(text.charCodeAt(i), keepNewlines)) break;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!needsEscape(code, keepNewlines)) out += text[i];
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

function needsEscape(code: number, keepNewlines: boolean): boolean {
  if (code === 0x0a) return !keepNewlines;
  return isControlCode(code) || isBidiControlCode(code);
}
