import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readJsonRecordGroups, type JsonRecord } from '../../src/import/read-json.js';
import { maxRecordBytes } from '../../src/policy/limits.js';

/** The splitter reads 1 MiB chunks (read-json.ts `highWaterMark`). */
const chunkBytes = 1 << 20;

const dir = mkdtempSync(path.join(tmpdir(), 'read-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeJson(text: string | Buffer): string {
  const file = path.join(dir, `doc-${++fileCount}.json`);
  writeFileSync(file, text);
  return file;
}

async function readAll(file: string): Promise<JsonRecord[]> {
  const records: JsonRecord[] = [];
  for await (const group of readJsonRecordGroups(file)) for (const record of group) records.push(record);
  return records;
}

async function readError(file: string): Promise<unknown> {
  try {
    await readAll(file);
  } catch (error) {
    return error;
  }
  throw new Error(`${file} was read without an error`);
}

/** What the splitter must yield for `text`, worked out with JSON.parse on the whole document. */
function expectedRecords(text: string): Omit<JsonRecord, 'line'>[] {
  const root = JSON.parse(text) as Record<string, unknown>;
  return Object.entries(root).flatMap(([key, value]) =>
    Array.isArray(value) ? value.map((element, index) => ({ key, index, value: element as unknown })) : [{ key, index: -1, value }],
  );
}

const withoutLines = (records: JsonRecord[]) => records.map(({ key, index, value }) => ({ key, index, value }));

describe('readJsonRecordGroups: agrees with JSON.parse', () => {
  const documents: { name: string; text: string }[] = [
    {
      name: 'escaped quotes and backslashes',
      text: String.raw`{"partners":[{"name":"He said \"hi\"","path":"C:\\dir\\","tail":"\\\"","q":"\""},{"id":"\\"}],"subscriptions":[]}`,
    },
    {
      name: 'a string ending in an escaped backslash right before the closing brace',
      text: String.raw`{"partners":[{"a":"x\\"},{"b":"\\\\"}]}`,
    },
    {
      name: 'braces, brackets, commas and colons inside strings',
      text: '{"partners":[{"name":"}{][,:","x":"]}"},{"y":"{{{"}],"subscriptions":[{"z":"]"}]}',
    },
    {
      name: 'multi-byte UTF-8 and \\u escapes',
      text: '{"partners":[{"name":"中文測試 Ünïcödé 😀","esc":"\\u4e2d\\u6587 \\ud83d\\ude00"}]}',
    },
    {
      name: 'nested objects and arrays',
      text: '{"subscriptions":[{"a":{"b":[1,[2,{"c":"]"}]],"d":{}},"e":[[],[[]]]},[1,[2,[3]]]]}',
    },
    { name: 'empty arrays', text: '{"partners":[],"subscriptions":[ \n ]}' },
    { name: 'an empty object', text: '{}' },
    { name: 'whitespace everywhere, CRLF and tabs', text: '\r\n\t{ \r\n"partners" :\t[ \r\n{ "id" : "P-1" } , \r\n { "id":"P-2" }\t] , "subscriptions" : [ ] } \r\n' },
    {
      name: 'unknown top-level keys with scalar, object and array values',
      text: '{"meta":{"version":1},"partners":[],"note":"x","count":3,"flag":true,"nothing":null,"list":["a"]}',
    },
    { name: 'arrays of scalars', text: '{"partners":[1,"two",null,true,false,-1.5e3,0.25,"t\\"x"]}' },
    { name: 'a key with escapes', text: String.raw`{"we\"ird\\key":1,"sub\u0073criptions":[2]}` },
  ];

  it.each(documents)('$name', async ({ text }) => {
    expect(withoutLines(await readAll(writeJson(text)))).toEqual(expectedRecords(text));
  });

  it('gives each record the line it starts on', async () => {
    const text = '{\n  "partners": [\n    {"id": "P-1"},\n\n    {"id": "P-2",\n     "name": "x"}\n  ],\n  "subscriptions": [{"id": "S-1"}, 5],\n  "note": 1\n}\n';
    const lines = (await readAll(writeJson(text))).map(({ key, index, line }) => ({ key, index, line }));
    expect(lines).toEqual([
      { key: 'partners', index: 0, line: 3 },
      { key: 'partners', index: 1, line: 5 },
      { key: 'subscriptions', index: 0, line: 8 },
      { key: 'subscriptions', index: 1, line: 8 },
      { key: 'note', index: -1, line: 9 },
    ]);
  });
});

describe('readJsonRecordGroups: records straddling the 1 MiB chunk boundary', () => {
  /**
   * One array element full of what a byte-level splitter can get wrong: escapes, braces in
   * strings, 3- and 4-byte UTF-8 characters, a scalar. It is placed so that the chunk boundary
   * falls at every one of its byte offsets in turn.
   */
  const tricky = String.raw`{"name":"a\"b\\","s":"中文😀}{][","t":"\\\"\\","n":[1,{"x":-2.5e1}],"k\"y":"文"}`;
  const trickyBytes = Buffer.byteLength(tricky);

  /** A partners array: filler elements padded so that a copy of `element` starts `shift` bytes before each boundary. */
  function buildStraddling(element: string, shifts: number[]): string {
    let text = '{"partners":[';
    let bytes = Buffer.byteLength(text);
    let boundary = 0;
    for (const shift of shifts) {
      const minimalFiller = Buffer.byteLength('{"pad":""},');
      boundary += chunkBytes;
      while (boundary - shift - bytes < minimalFiller) boundary += chunkBytes;
      const filler = `{"pad":"${'a'.repeat(boundary - shift - bytes - minimalFiller)}"},`;
      text += `${filler}${element},`;
      bytes += Buffer.byteLength(filler) + Buffer.byteLength(element) + 1;
    }
    return `${text}{"last":true}],"subscriptions":[]}`;
  }

  it(`splits correctly with the boundary at each of the ${trickyBytes + 1} offsets of an element`, async () => {
    const shifts = Array.from({ length: trickyBytes + 1 }, (_, i) => i);
    const text = buildStraddling(tricky, shifts);
    const file = writeJson(text);
    const records = await readAll(file);
    const tricks = records.filter((r) => typeof r.value === 'object' && r.value !== null && 'name' in r.value);
    expect(tricks).toHaveLength(shifts.length);
    expect(tricks.map((r) => r.value)).toEqual(shifts.map(() => JSON.parse(tricky)));
    expect(withoutLines(records)).toEqual(expectedRecords(text));
  });

  it('splits a 3-byte character at each of its inner byte offsets (1|2 and 2|1)', async () => {
    const element = '{"name":"中"}';
    const at = Buffer.byteLength('{"name":"'); // the character's first byte
    // The boundary falls `shift` bytes into the element: after the character's first, then second byte.
    const text = buildStraddling(element, [at + 1, at + 2]);
    expect(Buffer.from(text).length).toBeGreaterThan(2 * chunkBytes);
    const names = (await readAll(writeJson(text))).flatMap((r) => ((r.value as { name?: string }).name ? [(r.value as { name: string }).name] : []));
    expect(names).toEqual(['中', '中']);
  });

  it.each(
    Array.from({ length: 40 }, (_, shift) => ({ shift })),
  )('splits a top-level key and scalars with the boundary $shift bytes before them', async ({ shift }) => {
    const tail = String.raw`"sub\u0073criptions" : [ 7 , "x\\\"" , {"k":"文"} , true ] , "n" : 12 }`;
    const head = '{"partners":[{"pad":"';
    const padLength = chunkBytes - shift - Buffer.byteLength(head) - Buffer.byteLength('"}],');
    const text = `${head}${'b'.repeat(padLength)}"}],${tail}`;
    expect(Buffer.byteLength(text) - Buffer.byteLength(tail)).toBe(chunkBytes - shift);
    expect(withoutLines(await readAll(writeJson(text)))).toEqual(expectedRecords(text));
  });
});

describe('readJsonRecordGroups: malformed input → InputError naming file:line', () => {
  const cases: { name: string; text: string; message: string }[] = [
    { name: 'an empty file', text: '', message: ':1: malformed JSON: the file is empty' },
    { name: 'a file truncated between records', text: '{"partners":[\n{"id":"P-1"},\n{"id":"P-2"}', message: ':3: malformed JSON: unexpected end of file' },
    { name: 'a file truncated inside a string', text: '{"partners":[\n{"id":"P-', message: ':2: malformed JSON: unexpected end of file' },
    { name: 'a file truncated inside a key', text: '{"partners":[],\n"subscr', message: ':2: malformed JSON: unexpected end of file' },
    { name: 'a file truncated after the last array', text: '{"partners":[]', message: ':1: malformed JSON: unexpected end of file' },
    {
      name: 'trailing garbage',
      text: '{"partners":[]}\n\nxyz',
      message: ':3: malformed JSON: unexpected content after the end of the top-level object',
    },
    { name: 'a second document', text: '{"partners":[]}\n{}', message: ':2: malformed JSON: unexpected content after the end of the top-level object' },
    {
      name: 'a missing comma between records',
      text: '{"partners":[\n{"id":"P-1"}\n{"id":"P-2"}]}',
      message: ':3: malformed JSON: expected "," or "]" after partners[0]',
    },
    {
      name: 'a missing comma between top-level keys',
      text: '{"partners":[]\n"subscriptions":[]}',
      message: ':2: malformed JSON: expected "," or "}" after the value of "partners"',
    },
    { name: 'a missing colon', text: '{"partners" []}', message: ':1: malformed JSON: expected ":" after "partners"' },
    { name: 'a trailing comma in an array', text: '{"partners":[{"id":"P-1"},\n]}', message: ':2: malformed JSON: expected a value in "partners", found "]"' },
    { name: 'a trailing comma in the top-level object', text: '{"partners":[],\n}', message: ':2: malformed JSON: expected a key, found "}"' },
    { name: 'a leading comma in the top-level object', text: '{,"partners":[]}', message: ':1: malformed JSON: expected a key, found ","' },
    { name: 'an unquoted key', text: '{partners:[]}', message: ':1: malformed JSON: expected a key, found "p"' },
    { name: 'a missing value', text: '{"partners":}', message: ':1: malformed JSON: expected a value in "partners", found "}"' },
    { name: 'a broken record', text: '{"partners":[\n{"id": }]}', message: ':2: malformed JSON in partners[0]: ' },
    { name: 'a misspelt literal', text: '{"subscriptions":[\n  tru]}', message: ':2: malformed JSON in subscriptions[0]: ' },
    { name: 'two scalars without a comma', text: '{"partners":[1 2]}', message: ':1: malformed JSON: expected "," or "]" after partners[0]' },
    { name: 'a broken top-level scalar', text: '{"count": 1x}', message: ':1: malformed JSON in "count": ' },
    {
      name: 'a broken record before a missing comma: the first problem in the file is reported',
      text: '{"partners":[\n{"id": },\n{"id":"b"} {"id":"c"}]}',
      message: ':2: malformed JSON in partners[0]: ',
    },
    { name: 'a raw newline inside a string', text: '{"partners":[\n{"id":"a\nb"},\n{"id":"c"}]}', message: ':2: malformed JSON in partners[0]: ' },
  ];

  it.each(cases)('$name', async ({ text, message }) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const file = writeJson(text);
    const error = await readError(file);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message.startsWith(`${file}${message}`)).toBe(true);
  });

  it.each([
    { name: 'an array', text: '[1, 2]' },
    { name: 'a string', text: '"partners"' },
  ])('rejects valid JSON that is not an object: $name', async ({ text }) => {
    const file = writeJson(text);
    const error = await readError(file);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      `${file}:1: malformed JSON: the file must be an object with "partners" and "subscriptions" arrays`,
    );
  });

  it('names the line of a malformed record beyond the first chunk', async () => {
    const records = Array.from({ length: 30_000 }, (_, i) => `{"id":"P-${i}","name":"${'x'.repeat(40)}"}`);
    records[25_000] = '{"id":"P-25000" "name":"x"}';
    const file = writeJson(`{"partners":[\n${records.join(',\n')}\n]}`);
    expect(Buffer.byteLength(records.join(',\n'))).toBeGreaterThan(chunkBytes);
    const error = await readError(file);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(new RegExp(`^${escapeRegExp(file)}:25002: malformed JSON in partners\\[25000\\]: `));
  });

  it('reports a missing file as "no such file"', async () => {
    const file = path.join(dir, 'missing.json');
    const error = await readError(file);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(`${file}: no such file`);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('readJsonRecordGroups: a byte-order mark and a repeated top-level key', () => {
  it('reads a file that starts with a UTF-8 byte-order mark as one without', async () => {
    const text = '{"partners":[{"id":"P-1"}],\n"subscriptions":[]}';
    const file = writeJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(withoutLines(await readAll(file))).toEqual(expectedRecords(text));
  });

  it('keeps a byte-order mark anywhere else an error', async () => {
    const file = writeJson(Buffer.concat([Buffer.from(' '), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]));
    expect((await readError(file)) as InputError).toBeInstanceOf(InputError);
  });

  it('refuses a top-level key that appears twice, naming both lines, rather than merging the arrays', async () => {
    const file = writeJson('{"partners":[{"id":"P-1"}],\n"subscriptions":[],\n"partners":[{"id":"P-2"}]}');
    const error = await readError(file);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(`${file}:3: "partners" appears twice (first on line 1); a file has one of each top-level key`);
  });

  it('does not mistake the same key inside records for a repeated top-level key', async () => {
    const text = '{"partners":[{"partners":1,"id":"P-1"},{"partners":[2]}],"subscriptions":[]}';
    expect(withoutLines(await readAll(writeJson(text)))).toEqual(expectedRecords(text));
  });
});

describe('readJsonRecordGroups: a record past the record size limit', () => {
  it(`refuses a record longer than ${maxRecordBytes / 2 ** 20} MiB as it is read, naming where it starts`, async () => {
    const file = writeJson(`{"partners":[{"id":"P-1"},\n{"id":"P-2","name":"${'x'.repeat(maxRecordBytes)}"}]}`);
    const error = await readError(file);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(`${file}:2: partners[1] is longer than 64 MiB; no valid record comes near`);
  });

  it('reads a record of a few MiB whole, for the validator to name the field too long', async () => {
    const text = `{"partners":[{"id":"P-1","name":"${'x'.repeat(3 << 20)}"}]}`;
    expect(withoutLines(await readAll(writeJson(text)))).toEqual(expectedRecords(text));
  });
});
