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
  const partnerSeen = new Map<string, string>();
  const subscriptionSeen = new Map<string, string>();
  /** Subscriptions whose partner was not known yet when they were read; checked at the end. */
  const unresolved: { where: string; partnerId: string }[] = [];
  const csvPartnerKeys = new Map<string, string>();

  const acceptPartner = (raw: unknown, label: FieldLabel, where: string) => {
    const { partner, problems: found } = validatePartner(raw, label);
    report(found);
    if (!partner) return;
    if (format === 'json') {
      const first = partnerSeen.get(partner.id);
      if (first) return report([`${label('id')}: duplicate partner id "${partner.id}" (first at ${first})`]);
      partnerSeen.set(partner.id, where);
    } else {
      // CSV repeats the partner on each of its rows: every repetition must agree with the first.
      const key = JSON.stringify(partner);
      const first = csvPartnerKeys.get(partner.id);
      if (first !== undefined) {
        if (first !== key) report([`${where}: partner "${partner.id}" differs from its first row (${partnerSeen.get(partner.id)})`]);
        return;
      }
      csvPartnerKeys.set(partner.id, key);
      partnerSeen.set(partner.id, where);
    }
    summary.partners[writer.writePartner(partner)]++;
  };
  const acceptSubscription = (raw: unknown, label: FieldLabel, where: string) => {
    const { subscription, problems: found } = validateSubscription(raw, label);
    report(found);
    if (!subscription) return;
    const first = subscriptionSeen.get(subscription.id);
    if (first) return report([`${label('id')}: duplicate subscription id "${subscription.id}" (first at ${first})`]);
    subscriptionSeen.set(subscription.id, where);
    if (!writer.hasPartner(subscription.partnerId)) unresolved.push({ where: label('partnerId'), partnerId: subscription.partnerId });
    summary.subscriptions[writer.writeSubscription(subscription)]++;
  };

  store.sqlite.exec('BEGIN IMMEDIATE');
  try {
    if (format === 'json') {
      for await (const record of readJsonRecords(file)) {
        const where = record.index >= 0 ? `${record.key}[${record.index}]` : record.key;
        const label: FieldLabel = (field) => (field ? `${where}.${field}` : where);
        if (record.key === 'partners' && record.index >= 0) acceptPartner(record.value, label, where);
        else if (record.key === 'subscriptions' && record.index >= 0) acceptSubscription(record.value, label, where);
        else if (record.key === 'partners' || record.key === 'subscriptions') report([`${file}:${record.line}: "${record.key}" must be an array`]);
        else report([`${file}:${record.line}: unknown top-level key "${record.key}" (expected "partners" and "subscriptions")`]);
      }
    } else {
      for await (const record of readCsvRecords(file)) {
        report(record.problems);
        acceptPartner(record.partner, record.partnerLabel, `line ${record.line}`);
        acceptSubscription(record.subscription, record.subscriptionLabel, `line ${record.line}`);
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
    store.sqlite.exec('COMMIT');
    return summary;
  } catch (error) {
    if (store.sqlite.inTransaction) store.sqlite.exec('ROLLBACK');
    throw error;
  }
}
