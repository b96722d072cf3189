import type Database from 'better-sqlite3';
import type { Store } from '../store/db.js';
import { toSubscription, type SubscriptionRow } from '../store/rows.js';
import { findBenefitsEndOn } from '../policy/cycle.js';
import { findNextDueOn } from '../policy/due.js';
import { voidReasons } from '../policy/payment.js';
import { recordEvent } from '../store/events.js';
import { findInvoice } from '../store/invoices.js';
import type { Subscription } from '../policy/types.js';
import {
  changedSubscriptionFields,
  fromSubscriptionImport,
  isPartnerUnchanged,
  partnerImportColumns,
  subscriptionImportColumns,
  type PartnerImport,
  type SubscriptionImport,
} from './import-rows.js';

export type WriteResult = 'created' | 'updated' | 'unchanged';

export interface ImportWriterOptions {
  /**
   * The table was empty when the import began: every record is new (the parser has already
   * refused duplicate ids), so none is looked up first.
   */
  isFreshPartners: boolean;
  isFreshSubscriptions: boolean;
}

/**
 * Upserts by id with prepared statements (a million rows go through here). A record is compared
 * with the columns it was stored in: one that is unchanged is not written at all, so re-importing
 * a file changes nothing. Hot paths bind positional parameters straight from the parsed arrays
 * and read raw rows: better-sqlite3 spends microseconds per named parameter and per column of a
 * row object, which adds up to seconds per million.
 */
export function createImportWriter(store: Store, now: Date, file: string, options: ImportWriterOptions) {
  const { sqlite } = store;
  const at = now.toISOString();
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

  let restartStatements: { reset: Database.Statement; voidInvoice: Database.Statement } | undefined;

  /**
   * The rare part of a new cycle, prepared only when needed: a lapsed subscription is active
   * again, and a pending invoice of the old cycle, which could never be confirmed, is voided.
   */
  function restartCycle(current: Subscription, merged: Subscription): void {
    restartStatements ??= {
      reset: sqlite.prepare("UPDATE subscriptions SET status = 'active', lapsed_on = NULL, pending_invoice = NULL WHERE id = ?"),
      voidInvoice: sqlite.prepare("UPDATE invoices SET status = 'void', failure_reason = ?, updated_at = ? WHERE number = ? AND status = 'pending'"),
    };
    restartStatements.reset.run(current.id);
    const event = { at: now, subscription: current.id, partner: merged.partnerId, anniversary: current.anniversaryOn };
    if (current.pendingInvoice) {
      restartStatements.voidInvoice.run(voidReasons.cycleRestarted, at, current.pendingInvoice);
      recordEvent(store, { ...event, type: 'invoice.voided', detail: { reason: voidReasons.cycleRestarted }, invoice: findInvoice(store, current.pendingInvoice) });
    }
    if (current.status !== 'lapsed') return;
    recordEvent(store, { ...event, type: 'subscription.reactivated', detail: { action: 'import', newAnniversary: merged.anniversaryOn } });
    insertAudit.run(at, current.id, merged.partnerId, 'reactivated', file, JSON.stringify({
      reason: 'the import corrected the first anniversary: a new cycle starts',
      from: current.anniversaryOn,
      to: merged.anniversaryOn,
      lapsedOn: current.lapsedOn,
    }));
  }

  return {
    hasPartner(id: string): boolean {
      return partnerExists.get(id) !== undefined;
    },

    writePartner(row: PartnerImport): WriteResult {
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
    },

    writeSubscription(row: SubscriptionImport): WriteResult {
      const stored = options.isFreshSubscriptions ? undefined : (selectImported.get(row[0]) as unknown[] | undefined);
      if (stored === undefined) {
        insertSubscription.run(row, row[6]);
        return 'created';
      }
      const changed = changedSubscriptionFields(row, stored);
      if (changed.length === 0) return 'unchanged';
      const imported = fromSubscriptionImport(row);
      const current = toSubscription(selectSubscription.get(imported.id) as SubscriptionRow);
      // A corrected first anniversary starts the cycle over, a lapsed subscription included;
      // otherwise the lifecycle state (renewals, actions taken) survives the update. A
      // cancellation is an operator's decision from a support request: it stands, with its cycle.
      const isAnniversaryChanged = changed.includes('anniversaryOn');
      const isNewCycle = isAnniversaryChanged && current.status !== 'cancelled';
      const merged: Subscription = {
        ...current,
        ...imported,
        anniversaryOn: isNewCycle ? imported.anniversaryOn : current.anniversaryOn,
        doneMask: isNewCycle ? 0 : current.doneMask,
        ...(isNewCycle ? { status: 'active' as const, lapsedOn: null, pendingInvoice: null } : {}),
      };
      updateSubscription.run(
        ...row.slice(1, 14),
        merged.anniversaryOn,
        merged.doneMask,
        findNextDueOn(merged),
        at,
        imported.id,
      );
      const detail: Record<string, unknown> = { changed, isNewCycle };
      if (isAnniversaryChanged && !isNewCycle) {
        detail.keptCancelled = { anniversary: current.anniversaryOn, cancelledOn: current.cancelledOn, benefitsEndOn: findBenefitsEndOn(current.anniversaryOn, current.cancelledOn ?? current.anniversaryOn) };
      }
      if (isNewCycle && current.pendingInvoice) detail.voidedInvoice = current.pendingInvoice;
      insertAudit.run(at, imported.id, imported.partnerId, 'subscription-updated', file, JSON.stringify(detail));
      if (isNewCycle && (current.status !== 'active' || current.pendingInvoice !== null)) restartCycle(current, merged);
      return 'updated';
    },

    recordImport(summary: unknown): void {
      insertAudit.run(at, null, null, 'import', file, JSON.stringify(summary));
    },
  };
}
