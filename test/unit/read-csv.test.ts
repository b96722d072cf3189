import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { CsvTokenizer, readCsvRecordGroups, type CsvRow } from '../../src/import/read-csv.js';
import { maxRecordBytes } from '../../src/policy/limits.js';

const dir = mkdtempSync(path.join(tmpdir(), 'read-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The rows of the given pieces of a file pushed in turn, the last push marking the end of the file. */
function tokenize(...pieces: (string | Buffer)[]): CsvRow[] {
  const tokenizer = new CsvTokenizer('t.csv');
  const rows = pieces.flatMap((piece) => tokenizer.push(Buffer.from(piece), false));
  return [...rows, ...tokenizer.push(Buffer.alloc(0), true)];
}

function tokenizeError(text: string): string {
  try {
    tokenize(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('no error');
}

describe('CsvTokenizer: RFC 4180 rows', () => {
  it.each([
    { name: 'plain cells', text: 'a,b,c\n1,2,3\n', rows: [{ line: 1, cells: ['a', 'b', 'c'] }, { line: 2, cells: ['1', '2', '3'] }] },
    { name: 'CRLF line ends', text: 'a,b\r\n1,2\r\n', rows: [{ line: 1, cells: ['a', 'b'] }, { line: 2, cells: ['1', '2'] }] },
    { name: 'a last row without a line end', text: 'a,b\n1,2', rows: [{ line: 1, cells: ['a', 'b'] }, { line: 2, cells: ['1', '2'] }] },
    { name: 'cells trimmed, inner spaces kept', text: '  a b ,\tc  \n', rows: [{ line: 1, cells: ['a b', 'c'] }] },
    { name: 'empty cells and a trailing comma', text: 'a,,c,\n', rows: [{ line: 1, cells: ['a', '', 'c', ''] }] },
    { name: 'blank lines skipped, lines still counted', text: '\na\n  \r\n\nb\n', rows: [{ line: 2, cells: ['a'] }, { line: 5, cells: ['b'] }] },
    { name: 'a quoted comma', text: 'x,"Partner 1, Ltd",y\n', rows: [{ line: 1, cells: ['x', 'Partner 1, Ltd', 'y'] }] },
    { name: 'doubled quotes', text: '"say ""hi""",""\n', rows: [{ line: 1, cells: ['say "hi"', ''] }] },
    { name: 'spaces around a quoted cell, kept inside', text: 'a,  " b " ,c\n', rows: [{ line: 1, cells: ['a', ' b ', 'c'] }] },
    {
      name: 'a line break inside quotes (the next row keeps its own line number)',
      text: 'a,"two\nlines",b\nc,d,e\n',
      rows: [{ line: 1, cells: ['a', 'two\nlines', 'b'] }, { line: 3, cells: ['c', 'd', 'e'] }],
    },
    { name: 'a quoted last cell with CRLF', text: 'a,"b"\r\nc,d\r\n', rows: [{ line: 1, cells: ['a', 'b'] }, { line: 2, cells: ['c', 'd'] }] },
    { name: 'Chinese text', text: '夥伴,"台北市, 信義區"\n', rows: [{ line: 1, cells: ['夥伴', '台北市, 信義區'] }] },
  ])('$name', ({ text, rows }) => {
    expect(tokenize(text)).toEqual(rows);
  });

  it.each([
    { name: 'a quote never closed', text: 'a,b\n1,"open\n2,3\n', message: 't.csv:2: malformed CSV: Quote Not Closed: the quoted cell opened on this line has no closing quote' },
    { name: 'a quote never closed after a closed one', text: 'a,b\n"x\ny",\n"z\n', message: 't.csv:4: malformed CSV: Quote Not Closed: the quoted cell opened on this line has no closing quote' },
    { name: 'text after a closing quote on a later line', text: 'a,"b\nc"d\n', message: 't.csv:2: malformed CSV: Invalid Closing Quote: "d" follows the closing quote of a cell' },
    { name: 'text after a closing quote', text: 'a,"b"c\n', message: 't.csv:1: malformed CSV: Invalid Closing Quote: "c" follows the closing quote of a cell' },
    { name: 'a quote inside an unquoted cell', text: 'a,b\nx,"y",a"b\n', message: 't.csv:2: malformed CSV: Invalid Opening Quote: a quote inside the unquoted cell a"b' },
  ])('refuses $name, naming the line', ({ text, message }) => {
    expect(tokenizeError(text)).toBe(message);
  });

  it('gives the same rows wherever the chunks of a file end, inside a character included', () => {
    const bytes = Buffer.from('\ufeffid,name,note\r\n1,"Contoso, Ltd","say ""hi""\nagain"\n\n2,  夥伴 ,\n3,"",x');
    const whole = tokenize(bytes);
    expect(whole).toEqual([
      { line: 1, cells: ['id', 'name', 'note'] },
      { line: 2, cells: ['1', 'Contoso, Ltd', 'say "hi"\nagain'] },
      { line: 5, cells: ['2', '夥伴', ''] },
      { line: 6, cells: ['3', '', 'x'] },
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(tokenize(bytes.subarray(0, cut), bytes.subarray(cut)), `cut at ${cut}`).toEqual(whole);
    }
  });

  it('agrees with csv-parse on random documents cut into random chunks', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alphabet = ['a', 'b', ' ', ',', '"', '\n', '中', '-', '@'];
    const makeCell = () => {
      const length = Math.floor(random() * 6);
      const text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]!).join('');
      // Quoted as a CSV writer would, when it must be (or at random when it need not).
      return /[",\n]|^\s|\s$/.test(text) || random() < 0.2 ? `${random() < 0.3 ? ' ' : ''}"${text.replaceAll('"', '""')}"` : text;
    };
    for (let doc = 0; doc < 200; doc++) {
      const width = 1 + Math.floor(random() * 4);
      const lines = Array.from({ length: 1 + Math.floor(random() * 6) }, () => Array.from({ length: width }, makeCell).join(','));
      const text = lines.join(random() < 0.5 ? '\n' : '\r\n') + (random() < 0.5 ? '\n' : '');
      const expected = parse(text, { trim: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
      const cut = Math.floor(random() * text.length);
      const cells = tokenize(text.slice(0, cut), text.slice(cut)).map((row) => row.cells);
      expect(cells, JSON.stringify(text)).toEqual(expected);
    }
  });
});

describe('readCsvRecordGroups', () => {
  let fileCount = 0;
  function writeCsv(text: string): string {
    const file = path.join(dir, `doc-${++fileCount}.csv`);
    writeFileSync(file, text);
    return file;
  }

  async function readAll(file: string) {
    const records: { line: number; partnerId: string | undefined; subscription: Record<string, unknown> }[] = [];
    const problems: string[] = [];
    for await (const group of readCsvRecordGroups(file)) {
      for (const [, problem] of group.problems) problems.push(problem);
      for (const record of group.records) records.push({ line: record.line, partnerId: record.partnerId, subscription: record.subscription() });
    }
    return { records, problems };
  }

  it('reads columns in any order after a byte-order mark, and names a row with the wrong number of cells', async () => {
    const file = writeCsv('\ufeffoffer,subscription_id,partner_name,partner_id,purchased_on\naction_pack,S-1,Contoso,P-1,2019-01-01\nS-2,Contoso\n');
    const { records, problems } = await readAll(file);
    expect(records).toEqual([
      {
        line: 2,
        partnerId: 'P-1',
        subscription: expect.objectContaining({ id: 'S-1', partnerId: 'P-1', offer: 'action_pack', purchasedOn: '2019-01-01' }),
      },
    ]);
    expect(problems).toEqual(['line 3: 2 cells where the header has 5 columns']);
  });

  it.each([
    { name: 'an unknown and a missing column', text: 'partner_id,partner_name,subscription_id,offer,purchase_date\n', problems: ['unknown column "purchase_date"', 'missing column "purchased_on"'] },
    { name: 'a column twice', text: 'partner_id,partner_name,subscription_id,offer,purchased_on,offer\n', problems: ['column "offer" appears more than once'] },
  ])('refuses a header with $name', async ({ text, problems }) => {
    const file = writeCsv(text);
    const error = await readAll(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems).toEqual(problems.map((p) => `${file}:1: ${p}`));
  });

  it('refuses an empty file', async () => {
    const file = writeCsv('\n\n');
    await expect(readAll(file)).rejects.toThrow(`${file}: the file is empty (expected a header row and one row per subscription)`);
  });
});

describe('CsvTokenizer: a row past the record size limit', () => {
  it(`refuses a row longer than ${maxRecordBytes / 2 ** 20} MiB as it is read, naming its line`, () => {
    const tokenizer = new CsvTokenizer('big.csv');
    expect(tokenizer.push(Buffer.from('partner_id,partner_name\nP-1,ok\nP-2,'), false)).toHaveLength(2);
    const chunk = Buffer.alloc(1 << 20, 0x78);
    let error: unknown;
    try {
      for (let i = 0; i <= maxRecordBytes / chunk.length; i++) tokenizer.push(chunk, false);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe('big.csv:3: the row is longer than 64 MiB; no valid row comes near');
  });
});
