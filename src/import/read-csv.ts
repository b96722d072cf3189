import { createReadStream } from 'node:fs';
import { InputError } from '../errors.js';
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
const partnerCellColumns: readonly Column[] = [
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
];

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

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d;
}

/**
 * RFC 4180 rows from text pushed chunk by chunk: cells separated by commas, rows by LF or CRLF,
 * a cell in double quotes may hold commas, line breaks and doubled quotes. Cells are trimmed;
 * blank lines are skipped. A line without a quote (nearly all of them) is split in one native
 * call; only a line with a quote is read character by character.
 */
export class CsvTokenizer {
  private rest = '';
  /** The line `rest` starts on. */
  private line = 1;

  constructor(private readonly file: string) {}

  private fail(line: number, what: string): never {
    throw new InputError(`${this.file}:${line}: malformed CSV: ${what}`);
  }

  /** The rows completed by `text`; `isLast` marks the end of the file, which completes the last row. */
  push(text: string, isLast: boolean): CsvRow[] {
    const buffer = this.rest + text;
    const rows: CsvRow[] = [];
    let position = 0;
    let nextQuote = buffer.indexOf('"');
    while (position < buffer.length) {
      const newline = buffer.indexOf('\n', position);
      if (newline === -1 && !isLast) break;
      const end = newline === -1 ? buffer.length : newline;
      if (nextQuote !== -1 && nextQuote < position) nextQuote = buffer.indexOf('"', position);
      if (nextQuote === -1 || nextQuote >= end) {
        const text = buffer.slice(position, end);
        if (text.trim() !== '') rows.push({ line: this.line, cells: text.split(',').map((cell) => cell.trim()) });
        this.line++;
        position = end + 1;
        continue;
      }
      const row = this.readQuotedRow(buffer, position, isLast);
      if (!row) break;
      rows.push({ line: this.line, cells: row.cells });
      this.line += row.lines;
      position = row.next;
    }
    this.rest = position < buffer.length ? buffer.slice(position) : '';
    return rows;
  }

  /** A row with at least one quote, from `start`; null when the text so far ends inside it. */
  private readQuotedRow(buffer: string, start: number, isLast: boolean): { cells: string[]; next: number; lines: number } | null {
    const cells: string[] = [];
    const n = buffer.length;
    let lines = 0;
    let i = start;
    /** The next line feed at or after `i` (kept while cells are read, found again after a quoted one). */
    let newline = buffer.indexOf('\n', start);
    for (;;) {
      while (i < n && (buffer.charCodeAt(i) === 0x20 || buffer.charCodeAt(i) === 0x09)) i++;
      if (buffer.charCodeAt(i) === QUOTE) {
        const openedOn = this.line + lines;
        let value = '';
        let from = i + 1;
        for (;;) {
          const quote = buffer.indexOf('"', from);
          if (quote === -1 || (quote === n - 1 && !isLast)) {
            if (isLast) this.fail(openedOn, 'Quote Not Closed: the quoted cell opened on this line has no closing quote');
            return null;
          }
          const piece = buffer.slice(from, quote);
          for (let k = piece.indexOf('\n'); k !== -1; k = piece.indexOf('\n', k + 1)) lines++;
          value += piece;
          if (buffer.charCodeAt(quote + 1) === QUOTE) {
            value += '"';
            from = quote + 2;
            continue;
          }
          i = quote + 1;
          break;
        }
        while (i < n && isBlank(buffer.charCodeAt(i))) i++;
        const after = buffer.charCodeAt(i);
        if (i < n && after !== 0x2c && after !== 0x0a) {
          this.fail(this.line + lines, `Invalid Closing Quote: "${buffer[i]}" follows the closing quote of a cell`);
        }
        cells.push(value);
      } else {
        if (newline !== -1 && newline < i) newline = buffer.indexOf('\n', i);
        const comma = buffer.indexOf(',', i);
        let j = comma === -1 ? n : comma;
        if (newline !== -1 && newline < j) j = newline;
        if (j === n && !isLast) return null;
        const value = buffer.slice(i, j);
        if (value.includes('"')) this.fail(this.line + lines, `Invalid Opening Quote: a quote inside the unquoted cell ${value.trim()}`);
        cells.push(value.trim());
        i = j;
      }
      if (i >= n) return isLast ? { cells, next: n, lines } : null;
      if (buffer.charCodeAt(i) === 0x0a) return { cells, next: i + 1, lines: lines + 1 };
      i++; // the comma
    }
  }
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
  /** Rows that are not records: `line N: …` (a wrong number of cells). */
  problems: string[];
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
        group.problems.push(`line ${row.line}: ${row.cells.length} cells where the header has ${width} columns`);
      } else group.records.push(new CsvRecord(row.line, row.cells, columns));
    }
    return group;
  };
  let isFirst = true;
  try {
    for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
      // A byte-order mark is not part of the first column's name.
      yield toGroup(tokenizer.push(isFirst && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk, false));
      isFirst = false;
    }
    yield toGroup(tokenizer.push('', true));
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read: ${(error as Error).message}`);
  }
  if (!columns) throw new InputError(`${file}: the file is empty (expected a header row and one row per subscription)`);
}
