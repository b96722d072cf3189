import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
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

export interface CsvRecord {
  line: number;
  partner: Record<string, unknown>;
  subscription: Record<string, unknown>;
  partnerLabel: FieldLabel;
  subscriptionLabel: FieldLabel;
  /** Problems found while reading cells (a contacts cell that does not parse). */
  problems: string[];
}

function labelFor(line: number, columns: Record<string, Column>): FieldLabel {
  return (field) => {
    const contact = /^contacts\[(\d+)\]/.exec(field);
    if (contact) return `line ${line}, contacts (entry ${Number(contact[1]) + 1})`;
    return `line ${line}, ${columns[field] ?? field}`;
  };
}

const truthy = new Set(['true', 'yes', '1']);
const falsy = new Set(['false', 'no', '0']);

function readBoolean(cell: string | undefined): unknown {
  if (cell === undefined || cell === '') return undefined;
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

function toRecord(row: Record<string, string>, line: number): CsvRecord {
  const cell = (column: Column): string | undefined => (row[column] === '' ? undefined : row[column]);
  const problems: string[] = [];
  const hasBillTo = ['bill_to_line1', 'bill_to_city', 'bill_to_country', 'bill_to_postal_code'].some((c) => cell(c as Column));
  const partner: Record<string, unknown> = {
    id: cell('partner_id'),
    name: cell('partner_name'),
    locale: cell('partner_locale'),
    migratedToPartnerCenter: readBoolean(cell('partner_migrated')),
    billTo: hasBillTo
      ? {
          line1: cell('bill_to_line1'),
          line2: cell('bill_to_line2'),
          city: cell('bill_to_city'),
          region: cell('bill_to_region'),
          postalCode: cell('bill_to_postal_code'),
          country: cell('bill_to_country'),
        }
      : undefined,
    contacts: readContacts(cell('contacts'), line, problems),
  };
  const method = cell('payment_method');
  const subscription: Record<string, unknown> = {
    id: cell('subscription_id'),
    partnerId: cell('partner_id'),
    offer: cell('offer'),
    competency:
      cell('competency_area') || cell('competency_level')
        ? { area: cell('competency_area'), level: cell('competency_level') }
        : undefined,
    purchasedOn: cell('purchased_on'),
    anniversaryOn: cell('anniversary_on'),
    autoRenew: readBoolean(cell('auto_renew')),
    requirementsMet: readBoolean(cell('requirements_met')),
    payment:
      method === undefined
        ? undefined
        : method === 'bank_transfer'
          ? { method, contactName: cell('payment_contact_name'), phone: cell('payment_phone'), email: cell('payment_email') }
          : { method, token: cell('payment_token') },
  };
  return {
    line,
    partner,
    subscription,
    partnerLabel: labelFor(line, partnerColumns),
    subscriptionLabel: labelFor(line, subscriptionColumns),
    problems,
  };
}

export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const input = createReadStream(file);
  const parser = input.pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      info: true,
      columns: (header: string[]) => {
        const unknown = header.filter((h) => !(csvColumns as readonly string[]).includes(h));
        const missing = requiredColumns.filter((c) => !header.includes(c));
        const problems = [
          ...unknown.map((h) => `${file}:1: unknown column "${h}"`),
          ...missing.map((c) => `${file}:1: missing column "${c}"`),
        ];
        if (problems.length > 0) throw new InputError(`${file}: the header row does not match the CSV columns`, problems);
        return header;
      },
    }),
  );
  // pipe() does not forward the file's errors (ENOENT): without this they crash the process.
  input.on('error', (error) => parser.destroy(error));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield toRecord(record, info.lines);
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    const e = error as NodeJS.ErrnoException & { lines?: number };
    if (e.code === 'ENOENT') throw new InputError(`${file}: no such file`);
    throw new InputError(`${file}${e.lines ? `:${e.lines}` : ''}: malformed CSV: ${e.message}`);
  } finally {
    input.destroy();
  }
}
