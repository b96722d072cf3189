import { CsvLabels, readCsvRecordGroups } from './read-csv.js';
import { readJsonRecordGroups } from './read-json.js';
import { toPartnerImport, toSubscriptionImport, type PartnerImport, type SubscriptionImport } from './import-rows.js';
import { quoteValue } from '../policy/limits.js';
import { validatePartner, validateSubscription, type FieldLabel } from './validate.js';
import { createCopyTextEncoder, type CopyText, type CopyTextLayout } from '../store/import-copy-text.js';

export type ImportFormat = 'json' | 'csv';

/**
 * A problem and the position of its record in the file: the line (CSV) or the record's ordinal
 * in the document (JSON), so that problems found at the end (a missing partner) sort into place.
 */
export type PlacedProblem = [position: number, problem: string];

/** Valid records ready to write, and the problems found among the records read since the last batch. */
export interface ParsedBatch {
  /** The valid records, unless they come as `copyText`. */
  partners: PartnerImport[];
  subscriptions: SubscriptionImport[];
  /** The valid records as COPY text, when the parser was given a layout (PostgreSQL); the arrays are empty then. */
  copyText?: CopyText;
  /** How many valid records the batch holds, either way. */
  partnerCount: number;
  subscriptionCount: number;
  /** `where: what is wrong`, in file order, listed up to `maxListedProblems` over the whole file. */
  problems: PlacedProblem[];
  /** Problems found in this batch, listed or not. */
  problemCount: number;
  /**
   * Last batch only: subscriptions whose partner is not in the file (position, where, partner
   * id), in file order, invalid records included. The writer checks the database for each; a
   * partner in neither is a problem.
   */
  unresolved: [position: number, where: string, partnerId: string][];
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
export async function* parseImportFile(
  file: string,
  format: ImportFormat,
  options: { batchSize?: number; copyText?: CopyTextLayout } = {},
): AsyncGenerator<ParsedBatch> {
  const batchSize = options.batchSize ?? defaultBatchSize;
  const encode = options.copyText && createCopyTextEncoder(options.copyText);
  /** The batch to hand over: its records counted, and encoded when asked. */
  const finished = (done: ParsedBatch): ParsedBatch => {
    done.partnerCount = done.partners.length;
    done.subscriptionCount = done.subscriptions.length;
    if (!encode) return done;
    return { ...done, copyText: encode(done.partners, done.subscriptions), partners: [], subscriptions: [] };
  };
  let batch = emptyBatch();
  let listed = 0;
  /** The position of the record being read: its line (CSV) or its ordinal in the document (JSON). */
  let at = 0;
  // Records are read in file order and each one's problems are reported before the next is read,
  // so the first `maxListedProblems` reported are the first by position.
  const report = (list: readonly string[], position = at) => {
    for (const p of list) {
      batch.problemCount++;
      if (listed++ < maxListedProblems) batch.problems.push([position, p]);
    }
  };
  // Ids seen, each with its record's index (JSON) or line (CSV): a number, not a string per record,
  // keeps a million-record import's heap small.
  const partnerSeen = new Map<string, number>();
  const subscriptionSeen = new Map<string, number>();
  const describePosition = (section: 'partners' | 'subscriptions', position: number) =>
    format === 'json' ? `${section}[${position}]` : `line ${position}`;
  /** Subscriptions whose partner was not in the file yet when they were read; resolved at the end. */
  const pending: [position: number, where: string, partnerId: string][] = [];
  /** CSV repeats a partner on each of its rows: the first valid row's partner cells, to compare the others with. */
  const csvPartnerKeys = new Map<string, string>();

  /** True when the partner is valid and new. */
  const acceptPartner = (raw: unknown, label: FieldLabel, position: number): boolean => {
    const { partner, id, problems } = validatePartner(raw, label);
    report(problems);
    const first = id === undefined ? undefined : partnerSeen.get(id);
    if (first !== undefined) {
      report([`${label('id')}: duplicate partner id "${id}" (first at ${describePosition('partners', first)})`]);
      return false;
    }
    // An invalid partner is not recorded: in CSV its next row is validated again as its first.
    if (!partner) return false;
    partnerSeen.set(detached(partner.id), position);
    batch.partners.push(toPartnerImport(partner));
    return true;
  };
  // Every problem of a record is listed: a record with invalid fields is still checked for a
  // duplicate id and a missing partner.
  const acceptSubscription = (raw: unknown, label: FieldLabel, position: number) => {
    const { subscription, id, partnerId, problems } = validateSubscription(raw, label);
    report(problems);
    let isAccepted = subscription !== undefined;
    if (id !== undefined) {
      const first = subscriptionSeen.get(id);
      if (first !== undefined) {
        report([`${label('id')}: duplicate subscription id "${id}" (first at ${describePosition('subscriptions', first)})`]);
        isAccepted = false;
      } else subscriptionSeen.set(detached(id), position);
    }
    if (partnerId !== undefined && !partnerSeen.has(partnerId)) pending.push([at, label('partnerId'), partnerId]);
    if (isAccepted) batch.subscriptions.push(toSubscriptionImport(subscription!));
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
        at++;
        if (record.key === 'partners' && record.index >= 0) acceptPartner(record.value, label, record.index);
        else if (record.key === 'subscriptions' && record.index >= 0) acceptSubscription(record.value, label, record.index);
        else if (record.key === 'partners' || record.key === 'subscriptions') report([`${file}:${record.line}: "${record.key}" must be an array`]);
        else report([`${file}:${record.line}: unknown top-level key ${quoteValue(record.key)} (expected "partners" and "subscriptions")`]);
      }
      if (isFull()) {
        yield finished(batch);
        batch = emptyBatch();
      }
    }
  } else {
    const labels = new CsvLabels();
    for await (const group of readCsvRecordGroups(file)) {
      // The group's rows that are not records, each reported among the records by its line.
      let next = 0;
      const reportRowsBefore = (line: number) => {
        for (; next < group.problems.length && group.problems[next]![0] < line; next++) report([group.problems[next]![1]], group.problems[next]![0]);
      };
      for (const record of group.records) {
        reportRowsBefore(record.line);
        labels.line = record.line;
        at = record.line;
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
      reportRowsBefore(Infinity);
      if (isFull()) {
        yield finished(batch);
        batch = emptyBatch();
      }
    }
  }
  // A JSON file may list a subscription before its partner.
  batch.unresolved = pending.filter(([, , partnerId]) => !partnerSeen.has(partnerId));
  yield finished(batch);
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
  return { partners: [], subscriptions: [], partnerCount: 0, subscriptionCount: 0, problems: [], problemCount: 0, unresolved: [] };
}
