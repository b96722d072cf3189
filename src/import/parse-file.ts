import { CsvLabels, readCsvRecordGroups } from './read-csv.js';
import { readJsonRecordGroups } from './read-json.js';
import { toPartnerImport, toSubscriptionImport, type PartnerImport, type SubscriptionImport } from './import-rows.js';
import { validatePartner, validateSubscription, type FieldLabel } from './validate.js';

export type ImportFormat = 'json' | 'csv';

/** Valid records ready to write, and the problems found among the records read since the last batch. */
export interface ParsedBatch {
  partners: PartnerImport[];
  subscriptions: SubscriptionImport[];
  /** `where: what is wrong`, listed up to `maxListedProblems` over the whole file. */
  problems: string[];
  /** Problems found in this batch, listed or not. */
  problemCount: number;
  /**
   * Last batch only: subscriptions whose partner is not in the file (where, partner id). The
   * writer checks the database for each; a partner in neither is a problem.
   */
  unresolved: [where: string, partnerId: string][];
}

/** Past this many problems the rest are counted, not listed. */
export const maxListedProblems = 1_000;

const defaultBatchSize = 2_000;

/**
 * Reads, validates and converts every record of an import file, in file order, in batches. Pure
 * CPU work with no database: it runs in a worker thread for large files (parse-worker.ts) while
 * the calling thread writes. Duplicate ids are caught here, each reported with where its first
 * occurrence is; structural errors (malformed JSON, a bad CSV header, no such file) throw an
 * InputError.
 */
export async function* parseImportFile(file: string, format: ImportFormat, batchSize = defaultBatchSize): AsyncGenerator<ParsedBatch> {
  let batch = emptyBatch();
  let listed = 0;
  const report = (list: readonly string[]) => {
    for (const p of list) {
      batch.problemCount++;
      if (listed++ < maxListedProblems) batch.problems.push(p);
    }
  };
  // Ids seen, each with its record's index (JSON) or line (CSV): a number, not a string per record,
  // keeps a million-record import's heap small.
  const partnerSeen = new Map<string, number>();
  const subscriptionSeen = new Map<string, number>();
  const describePosition = (section: 'partners' | 'subscriptions', position: number) =>
    format === 'json' ? `${section}[${position}]` : `line ${position}`;
  /** Subscriptions whose partner was not in the file yet when they were read; resolved at the end. */
  const pending: [where: string, partnerId: string][] = [];
  /** CSV repeats a partner on each of its rows: the first valid row's partner cells, to compare the others with. */
  const csvPartnerKeys = new Map<string, string>();

  /** True when the partner is valid and new. */
  const acceptPartner = (raw: unknown, label: FieldLabel, position: number): boolean => {
    const { partner, problems } = validatePartner(raw, label);
    report(problems);
    if (!partner) return false;
    const first = partnerSeen.get(partner.id);
    if (first !== undefined) {
      report([`${label('id')}: duplicate partner id "${partner.id}" (first at ${describePosition('partners', first)})`]);
      return false;
    }
    partnerSeen.set(detached(partner.id), position);
    batch.partners.push(toPartnerImport(partner));
    return true;
  };
  const acceptSubscription = (raw: unknown, label: FieldLabel, position: number) => {
    const { subscription, problems } = validateSubscription(raw, label);
    report(problems);
    if (!subscription) return;
    const first = subscriptionSeen.get(subscription.id);
    if (first !== undefined) {
      return report([`${label('id')}: duplicate subscription id "${subscription.id}" (first at ${describePosition('subscriptions', first)})`]);
    }
    subscriptionSeen.set(detached(subscription.id), position);
    if (!partnerSeen.has(subscription.partnerId)) pending.push([label('partnerId'), subscription.partnerId]);
    batch.subscriptions.push(toSubscriptionImport(subscription));
  };
  const isFull = () => batch.partners.length + batch.subscriptions.length + batch.problemCount >= batchSize;

  if (format === 'json') {
    // One label serves every record: it names the record being validated (`subscriptions[3].offer`),
    // and problems are worded as they are found.
    let current = { key: '', index: 0 };
    const label: FieldLabel = (field) => `${current.key}[${current.index}]${field ? `.${field}` : ''}`;
    for await (const group of readJsonRecordGroups(file)) {
      for (const record of group) {
        current = record;
        if (record.key === 'partners' && record.index >= 0) acceptPartner(record.value, label, record.index);
        else if (record.key === 'subscriptions' && record.index >= 0) acceptSubscription(record.value, label, record.index);
        else if (record.key === 'partners' || record.key === 'subscriptions') report([`${file}:${record.line}: "${record.key}" must be an array`]);
        else report([`${file}:${record.line}: unknown top-level key "${record.key}" (expected "partners" and "subscriptions")`]);
      }
      if (isFull()) {
        yield batch;
        batch = emptyBatch();
      }
    }
  } else {
    const labels = new CsvLabels();
    for await (const group of readCsvRecordGroups(file)) {
      report(group.problems);
      for (const record of group.records) {
        labels.line = record.line;
        // Each row repeats its partner: the first valid row is the partner, the others must repeat its cells.
        const partnerId = record.partnerId;
        const firstKey = partnerId === undefined ? undefined : csvPartnerKeys.get(partnerId);
        if (firstKey === undefined) {
          const problems: string[] = [];
          const raw = record.partner(problems);
          report(problems);
          if (acceptPartner(raw, labels.partner, record.line)) csvPartnerKeys.set(detached(partnerId!), record.partnerKey());
        } else if (firstKey !== record.partnerKey()) {
          const firstRow = describePosition('partners', partnerSeen.get(partnerId!)!);
          report([`line ${record.line}: partner "${partnerId}" differs from its first row (${firstRow})`]);
        }
        acceptSubscription(record.subscription(), labels.subscription, record.line);
      }
      if (isFull()) {
        yield batch;
        batch = emptyBatch();
      }
    }
  }
  // A JSON file may list a subscription before its partner.
  batch.unresolved = pending.filter(([, partnerId]) => !partnerSeen.has(partnerId));
  yield batch;
}

/**
 * A copy of `text` that shares no memory with the text it was cut from. V8 makes a substring of
 * 13 or more characters a view into its parent: a million ids kept as views into the CSV reader's
 * 1 MiB chunks would keep the whole file in memory. Ids kept to the end go through here.
 */
function detached(text: string): string {
  return ` ${text}`.slice(1);
}

function emptyBatch(): ParsedBatch {
  return { partners: [], subscriptions: [], problems: [], problemCount: 0, unresolved: [] };
}
