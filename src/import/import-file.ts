import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { Store } from '../store/db.js';
import { readCsvRecords } from './read-csv.js';
import { readJsonRecords } from './read-json.js';
import { validatePartner, validateSubscription, type FieldLabel } from './validate.js';
import { createImportWriter, type WriteResult } from './write.js';

export interface ImportSummary {
  file: string;
  format: 'json' | 'csv';
  partners: Record<WriteResult, number>;
  subscriptions: Record<WriteResult, number>;
}

/** Past this many problems the rest are counted, not listed. */
const maxListedProblems = 1_000;

async function detectFormat(file: string): Promise<'json' | 'csv'> {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.csv$/i.test(file)) return 'csv';
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read: ${(error as Error).message}`);
  }
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('{') ? 'json' : 'csv';
  } finally {
    await handle.close();
  }
}

/**
 * A first load into an empty table builds the table's secondary indexes once at the end instead
 * of row by row: random dates make each insert touch other index pages, twice the cost at a
 * million rows. SQLite's DDL is transactional: a rollback brings the indexes back, and readers
 * see the old schema until COMMIT. Returns the function that rebuilds them.
 */
function deferIndexes(store: Store, table: string): () => void {
  const { sqlite } = store;
  if (sqlite.prepare(`SELECT 1 FROM "${table}" LIMIT 1`).get() !== undefined) return () => {};
  const indexes = sqlite
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL")
    .all(table) as { name: string; sql: string }[];
  for (const { name } of indexes) sqlite.exec(`DROP INDEX "${name}"`);
  return () => {
    for (const { sql } of indexes) sqlite.exec(sql);
  };
}

/**
 * SPEC §2: all or nothing. Records are written as they stream in, inside one transaction that
 * is rolled back if any record is invalid, so memory holds one record at a time (plus the ids
 * seen, to catch duplicates) and the database is untouched by a failed import.
 */
export async function importFile(store: Store, file: string, now: Date): Promise<ImportSummary> {
  const format = await detectFormat(file);
  const writer = createImportWriter(store, now, file);
  const summary: ImportSummary = {
    file,
    format,
    partners: { created: 0, updated: 0, unchanged: 0 },
    subscriptions: { created: 0, updated: 0, unchanged: 0 },
  };
  const problems: string[] = [];
  let problemCount = 0;
  const report = (list: readonly string[]) => {
    for (const p of list) if (problemCount++ < maxListedProblems) problems.push(p);
  };
  // Ids seen, each with its record's index (JSON) or line (CSV): a number, not a string per record,
  // keeps a million-record import's heap small.
  const partnerSeen = new Map<string, number>();
  const subscriptionSeen = new Map<string, number>();
  const describePosition = (section: 'partners' | 'subscriptions', position: number) =>
    format === 'json' ? `${section}[${position}]` : `line ${position}`;
  /** Subscriptions whose partner was not known yet when they were read; checked at the end. */
  const unresolved: { where: string; partnerId: string }[] = [];
  const csvPartnerKeys = new Map<string, string>();

  const acceptPartner = (raw: unknown, label: FieldLabel, where: string, position: number) => {
    const { partner, problems: found } = validatePartner(raw, label);
    report(found);
    if (!partner) return;
    if (format === 'json') {
      const first = partnerSeen.get(partner.id);
      if (first !== undefined) {
        return report([`${label('id')}: duplicate partner id "${partner.id}" (first at ${describePosition('partners', first)})`]);
      }
      partnerSeen.set(partner.id, position);
    } else {
      // CSV repeats the partner on each of its rows: every repetition must agree with the first.
      const key = JSON.stringify(partner);
      const first = csvPartnerKeys.get(partner.id);
      if (first !== undefined) {
        if (first !== key) {
          report([`${where}: partner "${partner.id}" differs from its first row (${describePosition('partners', partnerSeen.get(partner.id)!)})`]);
        }
        return;
      }
      csvPartnerKeys.set(partner.id, key);
      partnerSeen.set(partner.id, position);
    }
    summary.partners[writer.writePartner(partner)]++;
  };
  const acceptSubscription = (raw: unknown, label: FieldLabel, position: number) => {
    const { subscription, problems: found } = validateSubscription(raw, label);
    report(found);
    if (!subscription) return;
    const first = subscriptionSeen.get(subscription.id);
    if (first !== undefined) {
      return report([`${label('id')}: duplicate subscription id "${subscription.id}" (first at ${describePosition('subscriptions', first)})`]);
    }
    subscriptionSeen.set(subscription.id, position);
    if (!partnerSeen.has(subscription.partnerId) && !writer.hasPartner(subscription.partnerId)) unresolved.push({ where: label('partnerId'), partnerId: subscription.partnerId });
    summary.subscriptions[writer.writeSubscription(subscription)]++;
  };

  store.sqlite.exec('BEGIN IMMEDIATE');
  try {
    const rebuildIndexes = deferIndexes(store, 'subscriptions');
    if (format === 'json') {
      for await (const record of readJsonRecords(file)) {
        const where = record.index >= 0 ? `${record.key}[${record.index}]` : record.key;
        const label: FieldLabel = (field) => (field ? `${where}.${field}` : where);
        if (record.key === 'partners' && record.index >= 0) acceptPartner(record.value, label, where, record.index);
        else if (record.key === 'subscriptions' && record.index >= 0) acceptSubscription(record.value, label, record.index);
        else if (record.key === 'partners' || record.key === 'subscriptions') report([`${file}:${record.line}: "${record.key}" must be an array`]);
        else report([`${file}:${record.line}: unknown top-level key "${record.key}" (expected "partners" and "subscriptions")`]);
      }
    } else {
      for await (const record of readCsvRecords(file)) {
        report(record.problems);
        acceptPartner(record.partner, record.partnerLabel, `line ${record.line}`, record.line);
        acceptSubscription(record.subscription, record.subscriptionLabel, record.line);
      }
    }
    for (const { where, partnerId } of unresolved) {
      if (!writer.hasPartner(partnerId)) report([`${where}: partner "${partnerId}" is neither in the file nor in the database`]);
    }
    if (problemCount > 0) {
      if (problemCount > maxListedProblems) problems.push(`… and ${problemCount - maxListedProblems} more problems`);
      throw new InputError(`${file}: ${problemCount} problem${problemCount === 1 ? '' : 's'}; nothing was imported`, problems);
    }
    // SPEC §2: re-importing the same file changes nothing, not even the audit trail.
    const isChanged = [summary.partners, summary.subscriptions].some((c) => c.created + c.updated > 0);
    if (isChanged) writer.recordImport(summary);
    rebuildIndexes();
    store.sqlite.exec('COMMIT');
    return summary;
  } catch (error) {
    if (store.sqlite.inTransaction) store.sqlite.exec('ROLLBACK');
    throw error;
  }
}
