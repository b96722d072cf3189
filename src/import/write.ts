import type { Store } from '../store/db.js';
import { toSubscription, type SubscriptionRow } from '../store/rows.js';
import { findNextDueOn } from '../policy/due.js';
import type { Partner, Subscription } from '../policy/types.js';
import type { ImportedSubscription } from './validate.js';

export type WriteResult = 'created' | 'updated' | 'unchanged';

/**
 * Upserts by id with prepared statements (a million rows go through here). A record whose
 * canonical JSON (`source_key`) is unchanged is not written at all: re-importing changes nothing.
 * Hot paths bind positional parameters and read one column: better-sqlite3 spends microseconds
 * per named parameter and per column of a row object, which adds up to seconds per million.
 */
export function createImportWriter(store: Store, now: Date, file: string) {
  const { sqlite } = store;
  const at = now.toISOString();
  const insertPartner = sqlite.prepare(
    `INSERT INTO partners (id, name, locale, is_migrated, bill_to_line1, bill_to_line2, bill_to_city, bill_to_region,
       bill_to_postal_code, bill_to_country, has_bill_to, source_key, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectPartnerKey = sqlite.prepare('SELECT source_key FROM partners WHERE id = ?').pluck();
  const updatePartner = sqlite.prepare(
    `UPDATE partners SET name = @name, locale = @locale, is_migrated = @isMigrated, bill_to_line1 = @line1,
       bill_to_line2 = @line2, bill_to_city = @city, bill_to_region = @region, bill_to_postal_code = @postalCode,
       bill_to_country = @country, has_bill_to = @hasBillTo, source_key = @sourceKey, updated_at = @at
     WHERE id = @id AND source_key <> @sourceKey`,
  );
  const deleteContacts = sqlite.prepare('DELETE FROM contacts WHERE partner_id = ?');
  const insertContact = sqlite.prepare('INSERT INTO contacts (partner_id, name, email, role) VALUES (?, ?, ?, ?)');
  const insertSubscription = sqlite.prepare(
    `INSERT INTO subscriptions (id, partner_id, offer, competency_area, competency_level, purchased_on,
       imported_anniversary_on, anniversary_on, is_auto_renew, is_requirements_met, payment_method, payment_token,
       payment_contact_name, payment_phone, payment_email, status, done_mask, next_due_on, source_key, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 0, ?, ?, ?, ?)`,
  );
  const selectSubscriptionKey = sqlite.prepare('SELECT source_key FROM subscriptions WHERE id = ?').pluck();
  const selectSubscription = sqlite.prepare('SELECT * FROM subscriptions WHERE id = ?');
  const updateSubscription = sqlite.prepare(
    `UPDATE subscriptions SET partner_id = @partnerId, offer = @offer, competency_area = @area, competency_level = @level,
       purchased_on = @purchasedOn, imported_anniversary_on = @importedAnniversaryOn, anniversary_on = @anniversaryOn,
       is_auto_renew = @isAutoRenew, is_requirements_met = @isRequirementsMet, payment_method = @method,
       payment_token = @token, payment_contact_name = @contactName, payment_phone = @phone, payment_email = @email,
       done_mask = @doneMask, next_due_on = @nextDueOn, source_key = @sourceKey, updated_at = @at
     WHERE id = @id`,
  );
  const partnerExists = sqlite.prepare('SELECT 1 FROM partners WHERE id = ?').pluck();
  const insertAudit = sqlite.prepare(
    `INSERT INTO audit_events (at, subscription_id, partner_id, event, actor, actor_ref, detail)
     VALUES (?, ?, ?, ?, 'import', ?, ?)`,
  );

  function partnerParams(partner: Partner, sourceKey: string) {
    const b = partner.billTo;
    return {
      id: partner.id,
      name: partner.name,
      locale: partner.locale,
      isMigrated: partner.isMigratedToPartnerCenter ? 1 : 0,
      line1: b?.line1 ?? null,
      line2: b?.line2 ?? null,
      city: b?.city ?? null,
      region: b?.region ?? null,
      postalCode: b?.postalCode ?? null,
      country: b?.country ?? null,
      hasBillTo: b ? 1 : 0,
      sourceKey,
      at,
    };
  }

  function subscriptionParams(s: ImportedSubscription, sourceKey: string) {
    const p = s.payment;
    return {
      id: s.id,
      partnerId: s.partnerId,
      offer: s.offer,
      area: s.competency?.area ?? null,
      level: s.competency?.level ?? null,
      purchasedOn: s.purchasedOn,
      isAutoRenew: s.isAutoRenew ? 1 : 0,
      isRequirementsMet: s.isRequirementsMet ? 1 : 0,
      method: p?.method ?? null,
      token: p?.method === 'credit_card' ? p.token : null,
      contactName: p?.method === 'bank_transfer' ? p.contactName : null,
      phone: p?.method === 'bank_transfer' ? p.phone : null,
      email: p?.method === 'bank_transfer' ? p.email : null,
      sourceKey,
      at,
    };
  }

  return {
    hasPartner(id: string): boolean {
      return partnerExists.get(id) !== undefined;
    },

    writePartner(partner: Partner): WriteResult {
      const sourceKey = JSON.stringify(partner);
      const storedKey = selectPartnerKey.get(partner.id) as string | undefined;
      if (storedKey === sourceKey) return 'unchanged';
      const q = partnerParams(partner, sourceKey);
      let result: WriteResult;
      if (storedKey === undefined) {
        insertPartner.run(q.id, q.name, q.locale, q.isMigrated, q.line1, q.line2, q.city, q.region, q.postalCode, q.country, q.hasBillTo, q.sourceKey, at, at);
        result = 'created';
      } else {
        updatePartner.run(q);
        result = 'updated';
        deleteContacts.run(partner.id);
        insertAudit.run(at, null, partner.id, 'partner-updated', file, null);
      }
      for (const c of partner.contacts) insertContact.run(partner.id, c.name, c.email, c.role);
      return result;
    },

    writeSubscription(imported: ImportedSubscription): WriteResult {
      const sourceKey = JSON.stringify(imported);
      const storedKey = selectSubscriptionKey.get(imported.id) as string | undefined;
      if (storedKey === sourceKey) return 'unchanged';
      const params = subscriptionParams(imported, sourceKey);
      if (storedKey === undefined) {
        const fresh: Subscription = { ...imported, status: 'active', doneMask: 0, cancelledOn: null, lapsedOn: null, pendingInvoice: null };
        const { id, partnerId, offer, area, level, purchasedOn, isAutoRenew, isRequirementsMet, method, token, contactName, phone, email } = params;
        insertSubscription.run(
          id, partnerId, offer, area, level, purchasedOn, imported.anniversaryOn, imported.anniversaryOn, isAutoRenew,
          isRequirementsMet, method, token, contactName, phone, email, findNextDueOn(fresh), sourceKey, at, at,
        );
        return 'created';
      }
      const row = selectSubscription.get(imported.id) as SubscriptionRow;
      // A corrected first anniversary starts the cycle over; otherwise the lifecycle state
      // (renewals, actions taken) survives the update.
      const isNewCycle = row.imported_anniversary_on !== imported.anniversaryOn;
      const current = toSubscription(row);
      const merged: Subscription = {
        ...current,
        partnerId: imported.partnerId,
        offer: imported.offer,
        competency: imported.competency,
        purchasedOn: imported.purchasedOn,
        isAutoRenew: imported.isAutoRenew,
        isRequirementsMet: imported.isRequirementsMet,
        payment: imported.payment,
        anniversaryOn: isNewCycle ? imported.anniversaryOn : current.anniversaryOn,
        doneMask: isNewCycle ? 0 : current.doneMask,
      };
      updateSubscription.run({
        ...params,
        importedAnniversaryOn: imported.anniversaryOn,
        anniversaryOn: merged.anniversaryOn,
        doneMask: merged.doneMask,
        nextDueOn: findNextDueOn(merged),
      });
      const before = JSON.parse(row.source_key) as Record<string, unknown>;
      const changed = Object.keys(imported).filter(
        (k) => JSON.stringify(before[k]) !== JSON.stringify(imported[k as keyof ImportedSubscription]),
      );
      insertAudit.run(at, imported.id, imported.partnerId, 'subscription-updated', file, JSON.stringify({ changed, isNewCycle }));
      return 'updated';
    },

    recordImport(summary: unknown): void {
      insertAudit.run(at, null, null, 'import', file, JSON.stringify(summary));
    },
  };
}
