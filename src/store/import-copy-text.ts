import type { PartnerImport, SubscriptionImport } from '../import/import-rows.js';

/**
 * The rows of a PostgreSQL import as COPY text, made where the file is parsed (the parsing worker
 * thread for a large file): the thread that writes only passes the text on, and a batch crosses
 * between the threads as three strings instead of thousands of small arrays. Pure: no driver.
 */

/** What the writer found when it began: where the rows go and the import's instant. Crosses to the worker as is. */
export interface CopyTextLayout {
  /** Rows go straight into `partners` and `contacts` (empty at the start), else into the staging tables with a sequence number. */
  isFreshPartners: boolean;
  isFreshSubscriptions: boolean;
  /** `created_at` and `updated_at` of the rows written straight into the tables. */
  at: string;
}

/** One batch's rows, each table's as COPY text lines (possibly none). */
export interface CopyText {
  partners: string;
  contacts: string;
  subscriptions: string;
}

/** A value in COPY's text format: `\N` for NULL, backslash escapes for the characters COPY gives a meaning. */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'string' ? value : String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : text;
}

/**
 * The COPY column lists the encoder's lines follow, into the real tables (fresh) or the staging
 * ones (a leading `seq`: the record's place in the file, which the merge keeps).
 */
export const copyColumns = {
  partners: 'id, name, locale, is_migrated, bill_to_line1, bill_to_line2, bill_to_city, bill_to_region, bill_to_postal_code, bill_to_country, has_bill_to',
  contacts: 'partner_id, name, email, role',
  subscriptions:
    'id, partner_id, offer, competency_area, competency_level, purchased_on, imported_anniversary_on, is_auto_renew, ' +
    'is_requirements_met, payment_method, payment_token, payment_contact_name, payment_phone, payment_email',
} as const;

/** The COPY statements of the encoder's lines, table by table. */
export function copyStatements(layout: CopyTextLayout): CopyText {
  return layout.isFreshPartners
    ? {
        partners: `COPY partners (${copyColumns.partners}, created_at, updated_at) FROM STDIN`,
        contacts: `COPY contacts (${copyColumns.contacts}) FROM STDIN`,
        subscriptions: subscriptionStatement(layout),
      }
    : {
        partners: `COPY import_partners (seq, ${copyColumns.partners}) FROM STDIN`,
        contacts: `COPY import_contacts (seq, ${copyColumns.contacts}) FROM STDIN`,
        subscriptions: subscriptionStatement(layout),
      };
}

function subscriptionStatement(layout: CopyTextLayout): string {
  return layout.isFreshSubscriptions
    ? `COPY subscriptions (${copyColumns.subscriptions}, next_due_on, anniversary_on, status, done_mask, created_at, updated_at) FROM STDIN`
    : `COPY import_subscriptions (seq, ${copyColumns.subscriptions}, first_due_on) FROM STDIN`;
}

/** A text field, or NULL (`copyField` for the types the encoder knows). */
function textField(value: string | null): string {
  return value === null ? '\\N' : copyField(value);
}

/**
 * Turns batches of validated rows into COPY text, in file order: a sequence number per staged
 * row counts on from batch to batch, so one encoder serves one import. Each line is made by one
 * `join` and a table's lines by another: the text is flat (one piece of memory), so crossing to
 * the writing thread copies it once instead of first flattening thousands of concatenations.
 * Ids, dates, enumerations and flags are validated to their formats (no character COPY gives a
 * meaning) and go as they are.
 */
export function createCopyTextEncoder(layout: CopyTextLayout): (partners: readonly PartnerImport[], subscriptions: readonly SubscriptionImport[]) => CopyText {
  let partnerSeq = 0;
  let contactSeq = 0;
  let subscriptionSeq = 0;
  const at = copyField(layout.at);
  return (partners, subscriptions) => {
    const partnerLines: string[] = [];
    const contactLines: string[] = [];
    for (const row of partners) {
      const id = row[0];
      const fields = [
        id, textField(row[1]), row[2], `${row[3]}`, textField(row[4]), textField(row[5]), textField(row[6]),
        textField(row[7]), textField(row[8]), textField(row[9]), `${row[10]}`,
      ];
      if (layout.isFreshPartners) fields.push(at, at);
      else fields.unshift(`${++partnerSeq}`);
      partnerLines.push(fields.join('\t'));
      const contacts = row[11];
      for (let i = 0; i < contacts.length; i += 3) {
        const contact = [id, textField(contacts[i]!), textField(contacts[i + 1]!), textField(contacts[i + 2]!)];
        if (!layout.isFreshPartners) contact.unshift(`${++contactSeq}`);
        contactLines.push(contact.join('\t'));
      }
    }
    const subscriptionLines: string[] = [];
    for (const row of subscriptions) {
      const fields = [
        row[0], row[1], row[2], textField(row[3]), row[4] ?? '\\N', row[5], row[6], `${row[7]}`, `${row[8]}`, row[9] ?? '\\N',
        textField(row[10]), textField(row[11]), textField(row[12]), textField(row[13]), row[14] ?? '\\N',
      ];
      // Fresh: anniversary_on is the imported one; a new cycle with nothing done.
      if (layout.isFreshSubscriptions) fields.push(row[6], 'active', '0', at, at);
      else fields.unshift(`${++subscriptionSeq}`);
      subscriptionLines.push(fields.join('\t'));
    }
    return { partners: lines(partnerLines), contacts: lines(contactLines), subscriptions: lines(subscriptionLines) };
  };
}

/** COPY text of these lines: each ends with a newline; none, none. */
function lines(list: string[]): string {
  return list.length === 0 ? '' : `${list.join('\n')}\n`;
}
