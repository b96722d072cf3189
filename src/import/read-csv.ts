import { createReadStream } from 'node:fs';
import { fileReadError, InputError } from '../errors.js';
import { maxRecordBytes } from '../policy/limits.js';
import type { FieldLabel } from './validate.js';

/** The CSV columns (README "CSV columns"): one row per subscription, partner columns repeated. */
export const csvColumns = [
  'partner_id',
  'partner_name',
  'partner_locale',
  'partner_migrated',
  'bill_to_line1',
  'bill_to_line2',
  'bill_to_city',
  'bill_to_region',
  'bill_to_postal_code',
  'bill_to_country',
  'contacts',
  'subscription_id',
  'offer',
  'competency_area',
  'competency_level',
  'purchased_on',
  'anniversary_on',
  'auto_renew',
  'requirements_met',
  'payment_method',
  'payment_token',
  'payment_contact_name',
  'payment_phone',
  'payment_email',
] as const;
type Column = (typeof csvColumns)[number];
const requiredColumns: readonly Column[] = ['partner_id', 'partner_name', 'subscription_id', 'offer', 'purchased_on'];

/** JSON field path → CSV column, so both formats report problems in their own words. */
const partnerColumns: Record<string, Column> = {
  id: 'partner_id',
  name: 'partner_name',
  locale: 'partner_locale',
  migratedToPartnerCenter: 'partner_migrated',
  'billTo.line1': 'bill_to_line1',
  'billTo.line2': 'bill_to_line2',
  'billTo.city': 'bill_to_city',
  'billTo.region': 'bill_to_region',
  'billTo.postalCode': 'bill_to_postal_code',
  'billTo.country': 'bill_to_country',
};
const subscriptionColumns: Record<string, Column> = {
  id: 'subscription_id',
  partnerId: 'partner_id',
  offer: 'offer',
  competency: 'competency_area',
  'competency.area': 'competency_area',
  'competency.level': 'competency_level',
  purchasedOn: 'purchased_on',
  anniversaryOn: 'anniversary_on',
  autoRenew: 'auto_renew',
  requirementsMet: 'requirements_met',
  payment: 'payment_method',
  'payment.method': 'payment_method',
  'payment.token': 'payment_token',
  'payment.contactName': 'payment_contact_name',
  'payment.phone': 'payment_phone',
  'payment.email': 'payment_email',
};

/** The partner's columns: every row of one partner must repeat the same cells. */
const partnerCellColumns: readonly Column[] = csvColumns.filter((c) => c.startsWith('partner_') || c.startsWith('bill_to_') || c === 'contacts');

/**
 * Names the fields of the row being validated in CSV terms (`line 7, purchased_on`). One pair of
 * labels serves every row: set `line`, validate the row; problems are worded as they are found.
 */
export class CsvLabels {
  line = 0;
  readonly partner: FieldLabel = (field) => this.name(field, partnerColumns);
  readonly subscription: FieldLabel = (field) => this.name(field, subscriptionColumns);

  private name(field: string, columns: Record<string, Column>): string {
    const contact = /^contacts\[(\d+)\]/.exec(field);
    if (contact) return `line ${this.line}, contacts (entry ${Number(contact[1]) + 1})`;
    return `line ${this.line}, ${columns[field] ?? field}`;
  }
}

const truthy = new Set(['true', 'yes', '1']);
const falsy = new Set(['false', 'no', '0']);

function readBoolean(cell: string | undefined): unknown {
  if (cell === undefined) return undefined;
  const lower = cell.toLowerCase();
  if (truthy.has(lower)) return true;
  if (falsy.has(lower)) return false;
  return cell;
}

const contactPattern = /^(.*?)\s*<([^<>]*)>\s*(\S+)$/;

/** A contacts cell: `Name <email> role; Name <email> role`. */
function readContacts(cell: string | undefined, line: number, problems: string[]): unknown[] {
  if (!cell) return [];
  return cell
    .split(';')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .flatMap((entry, i) => {
      const match = contactPattern.exec(entry);
      if (!match) {
        problems.push(`line ${line}, contacts (entry ${i + 1}): "${entry}" is not "Name <email> role"`);
        return [];
      }
      return [{ name: match[1], email: match[2], role: match[3] }];
    });
}

/** One data row: its cells by column, and the partner and subscription records they make, built on demand. */
export class CsvRecord {
  constructor(
    readonly line: number,
    private readonly cells: readonly string[],
    private readonly layout: CsvLayout,
  ) {}

  /** A cell as written (trimmed); empty → undefined. */
  cell(column: Column): string | undefined {
    const value = this.cells[this.layout[column]];
    return value === '' ? undefined : value;
  }

  get partnerId(): string | undefined {
    return this.cell('partner_id');
  }

  /**
   * The partner's cells joined into one new string, to compare the partner's other rows with. A
   * cell is a slice of the 1 MiB chunk it was read from; keeping cells would keep every chunk.
   */
  partnerKey(): string {
    const cells: string[] = [];
    for (const column of partnerCellColumns) cells.push(this.cell(column) ?? '');
    return cells.join('\u0000');
  }

  /** The partner as the JSON validator reads it; `problems` gets the contacts cell's. */
  partner(problems: string[]): Record<string, unknown> {
    const hasBillTo =
      this.cell('bill_to_line1') !== undefined ||
      this.cell('bill_to_city') !== undefined ||
      this.cell('bill_to_country') !== undefined ||
      this.cell('bill_to_postal_code') !== undefined;
    return {
      id: this.cell('partner_id'),
      name: this.cell('partner_name'),
      locale: this.cell('partner_locale'),
      migratedToPartnerCenter: readBoolean(this.cell('partner_migrated')),
      billTo: hasBillTo
        ? {
            line1: this.cell('bill_to_line1'),
            line2: this.cell('bill_to_line2'),
            city: this.cell('bill_to_city'),
            region: this.cell('bill_to_region'),
            postalCode: this.cell('bill_to_postal_code'),
            country: this.cell('bill_to_country'),
          }
        : undefined,
      contacts: readContacts(this.cell('contacts'), this.line, problems),
    };
  }

  subscription(): Record<string, unknown> {
    const method = this.cell('payment_method');
    return {
      id: this.cell('subscription_id'),
      partnerId: this.cell('partner_id'),
      offer: this.cell('offer'),
      competency:
        this.cell('competency_area') || this.cell('competency_level') ? { area: this.cell('competency_area'), level: this.cell('competency_level') } : undefined,
      purchasedOn: this.cell('purchased_on'),
      anniversaryOn: this.cell('anniversary_on'),
      autoRenew: readBoolean(this.cell('auto_renew')),
      requirementsMet: readBoolean(this.cell('requirements_met')),
      payment:
        method === undefined
          ? undefined
          : method === 'bank_transfer'
            ? { method, contactName: this.cell('payment_contact_name'), phone: this.cell('payment_phone'), email: this.cell('payment_email') }
            : { method, token: this.cell('payment_token') },
    };
  }
}

export interface CsvRow {
  /** The line the row starts on. */
  line: number;
  cells: string[];
}

const QUOTE = 0x22;
const LINE_FEED = 0x0a;
const noBytes = Buffer.alloc(0);

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d;
}

/**
 * RFC 4180 rows from a file's bytes pushed chunk by chunk: cells separated by commas, rows by LF
 * or CRLF, a cell in double quotes may hold commas, line breaks and doubled quotes. Cells are
 * trimmed; blank lines are skipped. A row ends at the first line feed with an even number of
 * quotes before it in the row. Each row is decoded on its own, so an ASCII row makes one-byte
 * strings (cheaper to copy to the writing thread and to bind) even in a chunk with Chinese text;
 * a row without a quote (nearly all of them) is split in one native call.
 */
export class CsvTokenizer {
  private rest: Buffer = noBytes;
  /** The line `rest` starts on. */
  private line = 1;
  private isAtStart = true;

  constructor(private readonly file: string) {}

  private fail(line: number, what: string): never {
    throw new InputError(`${this.file}:${line}: malformed CSV: ${what}`);
  }

  /** The rows completed by `chunk`; `isLast` marks the end of the file, which completes the last row. */
  push(chunk: Buffer, isLast: boolean): CsvRow[] {
    let buffer = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    if (this.isAtStart && (buffer.length >= 3 || isLast)) {
      // A byte-order mark is not part of the first column's name.
      if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) buffer = buffer.subarray(3);
      this.isAtStart = false;
    }
    const rows: CsvRow[] = [];
    let position = 0;
    let nextQuote = buffer.indexOf(QUOTE);
    while (position < buffer.length) {
      if (nextQuote !== -1 && nextQuote < position) nextQuote = buffer.indexOf(QUOTE, position);
      let end = buffer.indexOf(LINE_FEED, position);
      let quotes = 0;
      /** The quote that opened the cell still open (when the count is odd). */
      let opening = -1;
      for (;;) {
        const limit = end === -1 ? buffer.length : end;
        while (nextQuote !== -1 && nextQuote < limit) {
          if (quotes++ % 2 === 0) opening = nextQuote;
          nextQuote = buffer.indexOf(QUOTE, nextQuote + 1);
        }
        if (quotes % 2 === 0 || end === -1) break;
        end = buffer.indexOf(LINE_FEED, end + 1); // that line feed is inside quotes
      }
      if (end === -1 && !isLast) break;
      if (quotes % 2 === 1) {
        // Name the first fault: a stray quote in an unquoted cell, or else the quote never closed.
        const lineEnd = buffer.indexOf(LINE_FEED, opening);
        this.readQuotedRow(buffer.toString('utf8', position, lineEnd === -1 ? buffer.length : lineEnd));
        this.fail(this.line + countLineFeeds(buffer, position, opening), 'Quote Not Closed: the quoted cell opened on this line has no closing quote');
      }
      const stop = end === -1 ? buffer.length : end;
      const text = buffer.toString('utf8', position, stop);
      if (quotes === 0) {
        if (text.trim() !== '') rows.push({ line: this.line, cells: text.split(',').map((cell) => cell.trim()) });
        this.line++;
      } else {
        rows.push({ line: this.line, cells: this.readQuotedRow(text) });
        this.line += countLineFeeds(buffer, position, stop) + 1;
      }
      position = stop + 1;
    }
    this.rest = position < buffer.length ? buffer.subarray(position) : noBytes;
    if (this.rest.length > maxRecordBytes) {
      throw new InputError(`${this.file}:${this.line}: the row is longer than ${maxRecordBytes / 2 ** 20} MiB; no valid row comes near`);
    }
    return rows;
  }

  /** The cells of a whole row (without its line end) holding at least one quote, its quotes paired. */
  private readQuotedRow(text: string): string[] {
    const lineAt = (i: number) => this.line + (text.slice(0, i).match(/\n/g)?.length ?? 0);
    const cells: string[] = [];
    const n = text.length;
    let i = 0;
    for (;;) {
      while (i < n && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
      if (text.charCodeAt(i) === QUOTE) {
        let value = '';
        let from = i + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote === -1) this.fail(lineAt(i), 'Quote Not Closed: the quoted cell opened on this line has no closing quote');
          value += text.slice(from, quote);
          if (text.charCodeAt(quote + 1) === QUOTE) {
            value += '"';
            from = quote + 2;
            continue;
          }
          i = quote + 1;
          break;
        }
        while (i < n && isBlank(text.charCodeAt(i))) i++;
        if (i < n && text.charCodeAt(i) !== 0x2c) this.fail(lineAt(i), `Invalid Closing Quote: "${text[i]}" follows the closing quote of a cell`);
        cells.push(value);
      } else {
        const comma = text.indexOf(',', i);
        const j = comma === -1 ? n : comma;
        const value = text.slice(i, j);
        if (value.includes('"')) this.fail(lineAt(i), `Invalid Opening Quote: a quote inside the unquoted cell ${value.trim()}`);
        cells.push(value.trim());
        i = j;
      }
      if (i >= n) return cells;
      i++; // the comma
    }
  }
}

function countLineFeeds(buffer: Buffer, from: number, to: number): number {
  let count = 0;
  for (let i = buffer.indexOf(LINE_FEED, from); i !== -1 && i < to; i = buffer.indexOf(LINE_FEED, i + 1)) count++;
  return count;
}

/**
 * Each column's cell index in a row (−1, a cell that is always missing, when the header lacks
 * it): an object of one fixed shape, as every cell of a million rows is looked up through it.
 */
type CsvLayout = Record<Column, number>;

function readHeader(file: string, header: readonly string[]): CsvLayout {
  const unknown = header.filter((h) => !(csvColumns as readonly string[]).includes(h));
  const missing = requiredColumns.filter((c) => !header.includes(c));
  const duplicated = header.filter((h, i) => header.indexOf(h) !== i);
  const problems = [
    ...unknown.map((h) => `${file}:1: unknown column "${h}"`),
    ...missing.map((c) => `${file}:1: missing column "${c}"`),
    ...duplicated.map((c) => `${file}:1: column "${c}" appears more than once`),
  ];
  if (problems.length > 0) throw new InputError(`${file}: the header row does not match the CSV columns`, problems);
  return Object.fromEntries(csvColumns.map((column) => [column, header.indexOf(column)])) as CsvLayout;
}

export interface CsvRecordGroup {
  records: CsvRecord[];
  /** Rows that are not records (a wrong number of cells), in line order: their line, and `line N: …`. */
  problems: [line: number, problem: string][];
}

/**
 * The data rows of a CSV import file, one group per chunk read (about 1 MiB). The header row
 * names the columns (README "CSV columns"); a row with another number of cells is a problem of
 * its own line.
 */
export async function* readCsvRecordGroups(file: string): AsyncGenerator<CsvRecordGroup> {
  const tokenizer = new CsvTokenizer(file);
  let columns: CsvLayout | null = null;
  let width = 0;
  const toGroup = (rows: CsvRow[]): CsvRecordGroup => {
    const group: CsvRecordGroup = { records: [], problems: [] };
    for (const row of rows) {
      if (!columns) {
        columns = readHeader(file, row.cells);
        width = row.cells.length;
      } else if (row.cells.length !== width) {
        group.problems.push([row.line, `line ${row.line}: ${row.cells.length} cells where the header has ${width} columns`]);
      } else group.records.push(new CsvRecord(row.line, row.cells, columns));
    }
    return group;
  };
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      yield toGroup(tokenizer.push(chunk, false));
    }
    yield toGroup(tokenizer.push(noBytes, true));
  } catch (error) {
    throw fileReadError(file, error);
  }
  if (!columns) throw new InputError(`${file}: the file is empty (expected a header row and one row per subscription)`);
}
