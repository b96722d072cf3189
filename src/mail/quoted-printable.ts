/**
 * Quoted-printable (RFC 2045 §6.7) for the notices' text and HTML parts. nodemailer's own
 * quoted-printable runs through a stream transform and a regular-expression line wrapper, about
 * 1 ms for a 20 KB notice, most of a send; the single pass over the UTF-8 bytes here takes a tenth.
 */

const maxLineLength = 76;
const hexDigits = Buffer.from('0123456789ABCDEF', 'latin1');

const escaped = 0;
const literal = 1;
const whitespace = 2;
const lineFeed = 3;
const carriageReturn = 4;
/** How each byte is written: printable ASCII but `=` as is; space and tab as is unless a line ends after them. */
const byteKinds = new Uint8Array(256);
for (let byte = 0x21; byte <= 0x7e; byte++) byteKinds[byte] = byte === 0x3d ? escaped : literal;
byteKinds[0x20] = whitespace;
byteKinds[0x09] = whitespace;
byteKinds[0x0a] = lineFeed;
byteKinds[0x0d] = carriageReturn;

/**
 * Encodes text as UTF-8 quoted-printable: line ends (LF or CRLF) become CRLF, a lone CR is
 * data, lines take at most 76 characters with soft breaks, and a character's bytes are never
 * split across two lines (some readers show a broken character otherwise).
 */
export function encodeQuotedPrintable(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const length = bytes.length;
  // Worst case: every byte as =XX, and a soft break every 20 bytes (a line of 4-byte characters holds 5 or more).
  const out = Buffer.allocUnsafe(length * 3 + Math.ceil(length / 20) * 3 + 3);
  let position = 0;
  let lineStart = 0;
  const breakSoftly = (): void => {
    out[position++] = 0x3d;
    out[position++] = 0x0d;
    out[position++] = 0x0a;
    lineStart = position;
  };
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]!;
    const kind = byteKinds[byte]!;
    if (kind === lineFeed || (kind === carriageReturn && bytes[i + 1] === 0x0a)) {
      if (kind === carriageReturn) i++;
      out[position++] = 0x0d;
      out[position++] = 0x0a;
      lineStart = position;
      continue;
    }
    // Whitespace at the end of a line would be dropped on the way (RFC 2045 rule 3): encode it there.
    const isLiteral =
      kind === literal || (kind === whitespace && i + 1 < length && byteKinds[bytes[i + 1]!] !== lineFeed && byteKinds[bytes[i + 1]!] !== carriageReturn);
    if (isLiteral) {
      // The last column of a full line holds the soft break's `=`.
      if (position - lineStart >= maxLineLength - 1) breakSoftly();
      out[position++] = byte;
      continue;
    }
    const isContinuation = byte >= 0x80 && byte < 0xc0;
    const width = byte >= 0xf0 ? 12 : byte >= 0xe0 ? 9 : byte >= 0xc0 ? 6 : 3;
    if (!isContinuation && position - lineStart + width > maxLineLength - 1) breakSoftly();
    out[position++] = 0x3d;
    out[position++] = hexDigits[byte >> 4]!;
    out[position++] = hexDigits[byte & 0x0f]!;
  }
  return out.toString('latin1', 0, position);
}

/**
 * A whole MIME part, headers and quoted-printable body, for nodemailer's `raw` content, so
 * nodemailer only assembles the message. Every notice has non-ASCII text or lines over 76
 * characters, so quoted-printable is what nodemailer would have chosen too.
 */
export function buildQuotedPrintablePart(contentType: 'text/plain' | 'text/html', text: string): { raw: string } {
  return {
    raw: `Content-Type: ${contentType}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${encodeQuotedPrintable(text)}`,
  };
}
