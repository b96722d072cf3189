import type Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { findBenefitsEndOn } from '../policy/cycle.js';
import { findNextDueOn } from '../policy/due.js';
import { voidReasons } from '../policy/payment.js';
import type { Subscription } from '../policy/types.js';
import {
  changedSubscriptionFields,
  fromSubscriptionImport,
  isPartnerUnchanged,
  partnerImportColumns,
  subscriptionImportColumns,
  type PartnerImport,
  type SubscriptionImport,
} from '../import/import-rows.js';
import type { ImportedSubscription } from '../import/validate.js';
import type { CopyText, CopyTextLayout } from './import-copy-text.js';
import { recordEvent } from './events.js';
import type { Executor, Store } from './executor.js';
import { findInvoice } from './invoices.js';
import { createPostgresImportWriter } from './imports-pg.js';
import { PostgresStore } from './postgres.js';
import { toSubscription, type SubscriptionRow } from './rows.js';
import { SqliteStore } from './sqlite.js';

export type WriteResult = 'created' | 'updated' | 'unchanged';

export interface ImportCounts {
  partners: Record<WriteResult, number>;
  subscriptions: Record<WriteResult, number>;
}

/**
 * Writes one import's validated records, inside the import's one transaction. SQLite writes each
 * batch as it comes; PostgreSQL stages the batches (COPY into temporary tables) and merges them
 * into the real tables in `finish`. Either way nothing is visible before the commit, and a
 * record equal to what is stored is not written at all.
 */
export interface ImportWriter {
  /**
   * PostgreSQL: how the writer wants the records, as COPY text made by the parser (`batch.copyText`);
   * SQLite takes the arrays.
   */
  readonly copyTextLayout?: CopyTextLayout;
  write(batch: ImportBatch): Promise<void>;
  /** Of these partner ids (none of them in the file), those the database does not hold either. */
  findMissingPartners(ids: readonly string[]): Promise<Set<string>>;
  /** Completes the writes: what was created, updated and left unchanged. */
  finish(): Promise<ImportCounts>;
  /** The audit trail's entry for the whole import. */
  recordImport(summary: unknown): Promise<void>;
}

/** A parsed batch's valid records: as arrays, or as COPY text when the writer asked for it. */
export interface ImportBatch {
  partners: readonly PartnerImport[];
  subscriptions: readonly SubscriptionImport[];
  copyText?: CopyText;
  partnerCount: number;
  subscriptionCount: number;
}

export interface ImportContext {
  now: Date;
  /** What the audit trail names as the source: a file path or `api:token:NAME`. */
  source: string;
}

export const emptyCounts = (): ImportCounts => ({
  partners: { created: 0, updated: 0, unchanged: 0 },
  subscriptions: { created: 0, updated: 0, unchanged: 0 },
});

/**
 * Runs `fn` with a writer inside one transaction of `store`: committed when `fn` resolves, rolled
 * back (nothing imported) when it throws. On SQLite the transaction holds the store's in-process
 * lock, so the daemon's other jobs wait for the commit; on PostgreSQL it holds one pooled connection.
 */
export async function runImport<T>(store: Store, context: ImportContext, fn: (writer: ImportWriter) => Promise<T>): Promise<T> {
  if (store instanceof PostgresStore) return createPostgresImportWriter(store, context, fn);
  if (!(store instanceof SqliteStore)) throw new Error(`runImport: unsupported store ${store.dialect}`);
  return store.transaction(async (tx) => {
    const options = { isFreshPartners: await isTableEmpty(tx, 'partners'), isFreshSubscriptions: await isTableEmpty(tx, 'subscriptions') };
    return fn(createSqliteImportWriter(store, store.connection, context, options));
  });
}

export async function isTableEmpty(ex: Executor, table: 'partners' | 'subscriptions'): Promise<boolean> {
  const row = table === 'partners' ? await ex.get(sql`SELECT 1 AS one FROM partners LIMIT 1`) : await ex.get(sql`SELECT 1 AS one FROM subscriptions LIMIT 1`);
  return row === undefined;
}

/** Of these partner ids, those the database does not hold. */
export async function findMissingPartners(ex: Executor, ids: readonly string[]): Promise<Set<string>> {
  const present = new Set<string>();
  // drizzle binds an array as a parenthesised list of parameters: some thousands per statement.
  for (let start = 0; start < ids.length; start += 5000) {
    const found = await ex.all<{ id: string }>(sql`SELECT id FROM partners WHERE id IN ${ids.slice(start, start + 5000)}`);
    for (const row of found) present.add(row.id);
  }
  return new Set(ids.filter((id) => !present.has(id)));
}

/** The parts of an updated subscription that follow from the record and what was stored (both backends). */
export interface SubscriptionUpdate {
  merged: Subscription;
  nextDueOn: string | null;
  isNewCycle: boolean;
  /** The audit trail's detail. */
  detail: Record<string, unknown>;
}

/**
 * A corrected first anniversary starts the cycle over, a lapsed subscription included; otherwise
 * the lifecycle state (renewals, actions taken) survives the update. A cancellation is an
 * operator's decision from a support request: it stands, with its cycle.
 */
export function mergeImportedSubscription(current: Subscription, imported: ImportedSubscription, changed: readonly (keyof ImportedSubscription)[]): SubscriptionUpdate {
  const isAnniversaryChanged = changed.includes('anniversaryOn');
  const isNewCycle = isAnniversaryChanged && current.status !== 'cancelled';
  const merged: Subscription = {
    ...current,
    ...imported,
    anniversaryOn: isNewCycle ? imported.anniversaryOn : current.anniversaryOn,
    doneMask: isNewCycle ? 0 : current.doneMask,
    ...(isNewCycle ? { status: 'active' as const, lapsedOn: null, pendingInvoice: null } : {}),
  };
  const detail: Record<string, unknown> = { changed, isNewCycle };
  if (isAnniversaryChanged && !isNewCycle) {
    detail.keptCancelled = { anniversary: current.anniversaryOn, cancelledOn: current.cancelledOn, benefitsEndOn: findBenefitsEndOn(current.anniversaryOn, current.cancelledOn ?? current.anniversaryOn) };
  }
  if (isNewCycle && current.pendingInvoice) detail.voidedInvoice = current.pendingInvoice;
  return { merged, nextDueOn: findNextDueOn(merged), isNewCycle, detail };
}

/** Whether an updated subscription needs `restartCycle` (its status or pending invoice is reset). */
export function isRestartNeeded(current: Subscription, update: SubscriptionUpdate): boolean {
  return update.isNewCycle && (current.status !== 'active' || current.pendingInvoice !== null);
}

/**
 * The rare part of a new cycle, through the generic executor (both backends): a lapsed
 * subscription is active again, and a pending invoice of the old cycle, which could never be
 * confirmed, is voided. `tx` is the import's transaction (the SQLite writer passes the store
 * itself, which runs inside its own transaction).
 */
export async function restartCycle(tx: Executor, context: ImportContext, current: Subscription, merged: Subscription): Promise<void> {
  const at = context.now.toISOString();
  await tx.run(sql`UPDATE subscriptions SET status = 'active', lapsed_on = NULL, pending_invoice = NULL WHERE id = ${current.id}`);
  const event = { at: context.now, subscription: current.id, partner: merged.partnerId, anniversary: current.anniversaryOn };
  if (current.pendingInvoice) {
    await tx.run(sql`UPDATE invoices SET status = 'void', failure_reason = ${voidReasons.cycleRestarted}, updated_at = ${at}
                     WHERE number = ${current.pendingInvoice} AND status = 'pending'`);
    const invoice = await findInvoice(tx, current.pendingInvoice);
    await recordEvent(tx, { ...event, type: 'invoice.voided', detail: { reason: voidReasons.cycleRestarted }, invoice });
  }
  if (current.status !== 'lapsed') return;
  await recordEvent(tx, { ...event, type: 'subscription.reactivated', detail: { action: 'import', newAnniversary: merged.anniversaryOn } });
  await insertImportAudit(tx, context, {
    subscriptionId: current.id,
    partnerId: merged.partnerId,
    event: 'reactivated',
    detail: { reason: 'the import corrected the first anniversary: a new cycle starts', from: current.anniversaryOn, to: merged.anniversaryOn, lapsedOn: current.lapsedOn },
  });
}

export async function insertImportAudit(
  ex: Executor,
  context: ImportContext,
  entry: { subscriptionId: string | null; partnerId: string | null; event: string; detail: unknown },
): Promise<void> {
  await ex.run(sql`INSERT INTO audit_events (at, subscription_id, partner_id, event, actor, actor_ref, detail)
                   VALUES (${context.now.toISOString()}, ${entry.subscriptionId}, ${entry.partnerId}, ${entry.event}, 'import', ${context.source},
                           ${entry.detail === null ? null : JSON.stringify(entry.detail)})`);
}

interface FreshTables {
  /**
   * The table was empty when the import began: every record is new (the parser has already
   * refused duplicate ids), so none is looked up first.
   */
  isFreshPartners: boolean;
  isFreshSubscriptions: boolean;
}

/**
 * SQLite: upserts by id with prepared statements on the store's connection, inside the store's
 * transaction (a million rows go through here). A record is compared with the columns it was
 * stored in: one that is unchanged is not written at all, so re-importing a file changes nothing.
 * Hot paths bind positional parameters straight from the parsed arrays and read raw rows:
 * better-sqlite3 spends microseconds per named parameter and per column of a row object, which
 * adds up to seconds per million. Each batch is written synchronously: one await per batch.
 */
function createSqliteImportWriter(store: SqliteStore, sqlite: Database.Database, context: ImportContext, options: FreshTables): ImportWriter {
  const at = context.now.toISOString();
  const file = context.source;
  const counts = emptyCounts();
  // The import's own instant, written into the insert statements rather than bound to each row:
  // an ISO-8601 string made here, with no quote to escape.
  const atLiteral = `'${at}'`;
  const insertPartner = sqlite.prepare(
    `INSERT INTO partners (id, name, locale, is_migrated, bill_to_line1, bill_to_line2, bill_to_city, bill_to_region,
       bill_to_postal_code, bill_to_country, has_bill_to, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${atLiteral}, ${atLiteral})`,
  );
  const selectPartner = sqlite.prepare(`SELECT ${partnerImportColumns.join(', ')} FROM partners WHERE id = ?`).raw();
  const selectContacts = sqlite.prepare('SELECT name, email, role FROM contacts WHERE partner_id = ? ORDER BY id').raw();
  const updatePartner = sqlite.prepare(
    `UPDATE partners SET name = ?, locale = ?, is_migrated = ?, bill_to_line1 = ?, bill_to_line2 = ?, bill_to_city = ?,
       bill_to_region = ?, bill_to_postal_code = ?, bill_to_country = ?, has_bill_to = ?, updated_at = ?
     WHERE id = ?`,
  );
  const deleteContacts = sqlite.prepare('DELETE FROM contacts WHERE partner_id = ?');
  /** Statements inserting 1, 2, 3 … contacts at once (most partners have a few): one step per partner. */
  const insertContactRows: Database.Statement[] = [];
  const insertContactsStatement = (count: number) =>
    (insertContactRows[count] ??= sqlite.prepare(
      `INSERT INTO contacts (partner_id, name, email, role) VALUES ${Array.from({ length: count }, () => '(?, ?, ?, ?)').join(', ')}`,
    ));
  // Binds a SubscriptionImport as it is (15 values), then anniversary_on.
  const insertSubscription = sqlite.prepare(
    `INSERT INTO subscriptions (id, partner_id, offer, competency_area, competency_level, purchased_on,
       imported_anniversary_on, is_auto_renew, is_requirements_met, payment_method, payment_token, payment_contact_name,
       payment_phone, payment_email, next_due_on, anniversary_on, status, done_mask, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 0, ${atLiteral}, ${atLiteral})`,
  );
  const selectImported = sqlite.prepare(`SELECT ${subscriptionImportColumns.join(', ')} FROM subscriptions WHERE id = ?`).raw();
  const selectSubscription = sqlite.prepare('SELECT * FROM subscriptions WHERE id = ?');
  const updateSubscription = sqlite.prepare(
    `UPDATE subscriptions SET partner_id = ?, offer = ?, competency_area = ?, competency_level = ?, purchased_on = ?,
       imported_anniversary_on = ?, is_auto_renew = ?, is_requirements_met = ?, payment_method = ?, payment_token = ?,
       payment_contact_name = ?, payment_phone = ?, payment_email = ?, anniversary_on = ?, done_mask = ?,
       next_due_on = ?, updated_at = ?
     WHERE id = ?`,
  );
  const partnerExists = sqlite.prepare('SELECT 1 FROM partners WHERE id = ?').pluck();
  const insertAudit = sqlite.prepare(
    `INSERT INTO audit_events (at, subscription_id, partner_id, event, actor, actor_ref, detail)
     VALUES (?, ?, ?, ?, 'import', ?, ?)`,
  );

  /** Contacts in groups of up to 8 per statement, in their order (their ids keep it). */
  function insertContacts(id: string, contacts: readonly string[]): void {
    for (let start = 0; start < contacts.length; start += 24) {
      const group = contacts.slice(start, start + 24);
      const values: string[] = [];
      for (let i = 0; i < group.length; i += 3) values.push(id, group[i]!, group[i + 1]!, group[i + 2]!);
      insertContactsStatement(group.length / 3).run(values);
    }
  }

  function writePartner(row: PartnerImport): WriteResult {
    const [id, name, locale, isMigrated, line1, line2, city, region, postalCode, country, hasBillTo, contacts] = row;
    const stored = options.isFreshPartners ? undefined : (selectPartner.get(id) as unknown[] | undefined);
    if (stored === undefined) {
      insertPartner.run(id, name, locale, isMigrated, line1, line2, city, region, postalCode, country, hasBillTo);
      insertContacts(id, contacts);
      return 'created';
    }
    const storedContacts = (selectContacts.all(id) as unknown[][]).flat();
    if (isPartnerUnchanged(row, stored, storedContacts)) return 'unchanged';
    updatePartner.run(name, locale, isMigrated, line1, line2, city, region, postalCode, country, hasBillTo, at, id);
    deleteContacts.run(id);
    insertContacts(id, contacts);
    insertAudit.run(at, null, id, 'partner-updated', file, null);
    return 'updated';
  }

  /** A subscription whose new cycle resets more than the update does: restarted through the executor. */
  const restarts: [Subscription, Subscription][] = [];

  function writeSubscription(row: SubscriptionImport): WriteResult {
    const stored = options.isFreshSubscriptions ? undefined : (selectImported.get(row[0]) as unknown[] | undefined);
    if (stored === undefined) {
      insertSubscription.run(row, row[6]);
      return 'created';
    }
    const changed = changedSubscriptionFields(row, stored);
    if (changed.length === 0) return 'unchanged';
    const imported = fromSubscriptionImport(row);
    const current = toSubscription(selectSubscription.get(imported.id) as SubscriptionRow);
    const update = mergeImportedSubscription(current, imported, changed);
    updateSubscription.run(...row.slice(1, 14), update.merged.anniversaryOn, update.merged.doneMask, update.nextDueOn, at, imported.id);
    insertAudit.run(at, imported.id, imported.partnerId, 'subscription-updated', file, JSON.stringify(update.detail));
    if (isRestartNeeded(current, update)) restarts.push([current, update.merged]);
    return 'updated';
  }

  return {
    async write({ partners, subscriptions }) {
      for (const partner of partners) counts.partners[writePartner(partner)]++;
      for (const subscription of subscriptions) {
        counts.subscriptions[writeSubscription(subscription)]++;
        // Rare, so awaited in place (the audit trail keeps its order); inside the store's transaction, on its connection.
        if (restarts.length > 0) for (const [current, merged] of restarts.splice(0)) await restartCycle(store, context, current, merged);
      }
    },
    async findMissingPartners(ids) {
      return new Set(ids.filter((id) => partnerExists.get(id) === undefined));
    },
    async finish() {
      return counts;
    },
    async recordImport(summary) {
      insertAudit.run(at, null, null, 'import', file, JSON.stringify(summary));
    },
  };
}
