import type { Contact, Locale, Partner, Payment, Subscription } from '../policy/types.js';

/** A `subscriptions` row as better-sqlite3 returns it from `SELECT *`. */
export interface SubscriptionRow {
  id: string;
  partner_id: string;
  offer: 'action_pack' | 'competency';
  competency_area: string | null;
  competency_level: 'silver' | 'gold' | null;
  purchased_on: string;
  imported_anniversary_on: string;
  anniversary_on: string;
  is_auto_renew: number;
  is_requirements_met: number;
  payment_method: 'credit_card' | 'bank_transfer' | null;
  payment_token: string | null;
  payment_contact_name: string | null;
  payment_phone: string | null;
  payment_email: string | null;
  status: 'active' | 'lapsed' | 'cancelled';
  done_mask: number;
  next_due_on: string | null;
  cancelled_on: string | null;
  cancel_ticket: string | null;
  lapsed_on: string | null;
  pending_invoice: string | null;
  created_at: string;
  updated_at: string;
}

export interface PartnerRow {
  id: string;
  name: string;
  locale: string;
  is_migrated: number;
  bill_to_line1: string | null;
  bill_to_line2: string | null;
  bill_to_city: string | null;
  bill_to_region: string | null;
  bill_to_postal_code: string | null;
  bill_to_country: string | null;
  has_bill_to: number;
}

function toPayment(row: SubscriptionRow): Payment | null {
  if (row.payment_method === 'credit_card') return { method: 'credit_card', token: row.payment_token ?? '' };
  if (row.payment_method === 'bank_transfer') {
    return {
      method: 'bank_transfer',
      contactName: row.payment_contact_name ?? '',
      phone: row.payment_phone ?? '',
      email: row.payment_email ?? '',
    };
  }
  return null;
}

export function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    partnerId: row.partner_id,
    offer: row.offer,
    competency:
      row.offer === 'competency' ? { area: row.competency_area ?? '', level: row.competency_level ?? 'silver' } : null,
    purchasedOn: row.purchased_on,
    anniversaryOn: row.anniversary_on,
    isAutoRenew: row.is_auto_renew === 1,
    isRequirementsMet: row.is_requirements_met === 1,
    payment: toPayment(row),
    status: row.status,
    doneMask: row.done_mask,
    cancelledOn: row.cancelled_on,
    lapsedOn: row.lapsed_on,
    pendingInvoice: row.pending_invoice,
  };
}

export function toPartner(row: PartnerRow, contacts: Contact[]): Partner {
  return {
    id: row.id,
    name: row.name,
    locale: row.locale as Locale,
    isMigratedToPartnerCenter: row.is_migrated === 1,
    billTo: row.has_bill_to
      ? {
          line1: row.bill_to_line1 ?? '',
          ...(row.bill_to_line2 ? { line2: row.bill_to_line2 } : {}),
          city: row.bill_to_city ?? '',
          ...(row.bill_to_region ? { region: row.bill_to_region } : {}),
          ...(row.bill_to_postal_code ? { postalCode: row.bill_to_postal_code } : {}),
          country: row.bill_to_country ?? '',
        }
      : null,
    contacts,
  };
}
