import { describe, expect, it } from 'vitest';
import { buildQuotedPrintablePart, encodeQuotedPrintable } from '../../src/mail/quoted-printable.js';

/** RFC 2045 §6.7 decoding, written independently of the encoder: soft breaks out, =XX to bytes. */
function decode(encoded: string): string {
  const bytes: number[] = [];
  const body = encoded.replace(/=\r\n/g, '');
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '=') {
      bytes.push(Number.parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(body.charCodeAt(i));
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

/** Checks every rule a reader relies on, and returns the lines. */
function expectWellFormed(encoded: string): string[] {
  expect(encoded).toMatch(/^[\x20-\x7e\r\n\t]*$/);
  expect(encoded.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  const lines = encoded.split('\r\n');
  for (const line of lines) {
    expect(line.length, line).toBeLessThanOrEqual(76);
    expect(line, 'whitespace ends a line').not.toMatch(/[ \t]$/);
    const content = line.endsWith('=') ? line.slice(0, -1) : line;
    expect(content, 'a split =XX').not.toMatch(/=(?![0-9A-F]{2})/);
    // Every line holds whole characters: its bytes decode on their own.
    expect(() => decode(content), line).not.toThrow();
  }
  return lines;
}

describe('encodeQuotedPrintable', () => {
  it.each([
    ['empty', '', ''],
    ['plain ASCII, LF line ends', 'Hello\nWorld', 'Hello\r\nWorld'],
    ['CRLF line ends kept', 'a\r\nb\r\n', 'a\r\nb\r\n'],
    ['a lone CR is data', 'a\rb', 'a=0Db'],
    ['equals sign', 'a=b', 'a=3Db'],
    ['space and tab inside a line', 'a b\tc', 'a b\tc'],
    ['space and tab before a line end', 'a \nb\t\r\nc', 'a=20\r\nb=09\r\nc'],
    ['space at the very end', 'end ', 'end=20'],
    ['control characters', 'a\u0000\u007f', 'a=00=7F'],
    ['UTF-8', '續約 €', '=E7=BA=8C=E7=B4=84 =E2=82=AC'],
  ])('%s', (_name, text, expected) => {
    expect(encodeQuotedPrintable(text)).toBe(expected);
    expect(decode(expected).replace(/\r\n/g, '\n')).toBe(text.replace(/\r\n/g, '\n'));
  });

  it('wraps a long line with soft breaks at 76 characters', () => {
    const text = 'x'.repeat(200);
    const lines = expectWellFormed(encodeQuotedPrintable(text));
    expect(lines.map((line) => line.length)).toEqual([76, 76, 50]);
    expect(decode(lines.join('\r\n'))).toBe(text);
  });

  it('never splits a character or an =XX across lines', () => {
    for (let shift = 0; shift < 12; shift++) {
      const text = `${'a'.repeat(shift)}${'臺灣😀é'.repeat(40)}=`;
      const encoded = encodeQuotedPrintable(text);
      expectWellFormed(encoded);
      expect(decode(encoded)).toBe(text);
    }
  });

  it('round-trips mixed text: long lines, line ends, whitespace, every script the notices use', () => {
    const pieces = ['a', ' ', '\t', '=', '\n', '\r\n', '\r', '.', '臺', '😀', 'é', '<td style="x">', 'x'.repeat(90)];
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let round = 0; round < 150; round++) {
      let text = '';
      const length = Math.floor(random() * 400);
      for (let i = 0; i < length; i++) text += pieces[Math.floor(random() * pieces.length)];
      const encoded = encodeQuotedPrintable(text);
      expectWellFormed(encoded);
      expect(decode(encoded)).toBe(text.replace(/\r?\n/g, '\r\n'));
    }
  });
});

describe('buildQuotedPrintablePart', () => {
  it('is the part headers, a blank line and the encoded body', () => {
    expect(buildQuotedPrintablePart('text/html', '<p>續約 = renew</p>\n').raw).toBe(
      'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>=E7=BA=8C=E7=B4=84 =3D renew</p>\r\n',
    );
  });
});
