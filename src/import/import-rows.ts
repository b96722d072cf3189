import { findNextDueOn } from '../policy/due.js';
import type { IsoDate } from '../policy/dates.js';
import type { CompetencyLevel, Locale, Offer, Partner } from '../policy/types.js';
import type { ImportedSubscription } from './validate.js';

/**
 * Validated records as the columns the import owns, in the order the insert statements bind
 * them. They cross from the parsing worker to the writing thread as plain arrays: a structured
 * clone of a flat array costs a fraction of a nested object's, and the writer binds it as is.
 */
export type SubscriptionImport = [
  id: string,
  partnerId: string,
  offer: Offer,
  competencyArea: string | null,
  competencyLevel: CompetencyLevel | null,
  purchasedOn: IsoDate,
  /** As given, or derived by R1: the first anniversary of the imported cycle. */
  anniversaryOn: IsoDate,
  isAutoRenew: 0 | 1,
  isRequirementsMet: 0 | 1,
  paymentMethod: 'credit_card' | 'bank_transfer' | null,
  paymentToken: string | null,
  paymentContactName: string | null,
  paymentPhone: string | null,
  paymentEmail: string | null,
  /** `next_due_on` of a subscription that starts its cycle here (nothing done yet). */
  firstDueOn: IsoDate | null,
];

/** The stored columns compared with positions 1 … 13 of a `SubscriptionImport`, in that order. */
export const subscriptionImportColumns = [
  'partner_id',
  'offer',
  'competency_area',
  'competency_level',
  'purchased_on',
  'imported_anniversary_on',
  'is_auto_renew',
  'is_requirements_met',
  'payment_method',
  'payment_token',
  'payment_contact_name',
  'payment_phone',
  'payment_email',
] as const;

/** The record's field each position 1 … 13 comes from, for the audit trail's list of what changed. */
const subscriptionFields: readonly (keyof ImportedSubscription)[] = [
  'partnerId',
  'offer',
  'competency',
  'competency',
  'purchasedOn',
  'anniversaryOn',
  'isAutoRenew',
  'isRequirementsMet',
  'payment',
  'payment',
  'payment',
  'payment',
  'payment',
];

export function toSubscriptionImport(s: ImportedSubscription): SubscriptionImport {
  const p = s.payment;
  // A literal of the full shape, not a spread: this runs for every record of an import.
  const firstDueOn = findNextDueOn({
    id: s.id,
    partnerId: s.partnerId,
    offer: s.offer,
    competency: s.competency,
    purchasedOn: s.purchasedOn,
    anniversaryOn: s.anniversaryOn,
    isAutoRenew: s.isAutoRenew,
    isRequirementsMet: s.isRequirementsMet,
    payment: p,
    status: 'active',
    doneMask: 0,
    cancelledOn: null,
    lapsedOn: null,
    pendingInvoice: null,
  });
  return [
    s.id,
    s.partnerId,
    s.offer,
    s.competency?.area ?? null,
    s.competency?.level ?? null,
    s.purchasedOn,
    s.anniversaryOn,
    s.isAutoRenew ? 1 : 0,
    s.isRequirementsMet ? 1 : 0,
    p?.method ?? null,
    p?.method === 'credit_card' ? p.token : null,
    p?.method === 'bank_transfer' ? p.contactName : null,
    p?.method === 'bank_transfer' ? p.phone : null,
    p?.method === 'bank_transfer' ? p.email : null,
    firstDueOn,
  ];
}

export function fromSubscriptionImport(row: SubscriptionImport): ImportedSubscription {
  const [id, partnerId, offer, area, level, purchasedOn, anniversaryOn, isAutoRenew, isRequirementsMet, method, token, contactName, phone, email] = row;
  return {
    id,
    partnerId,
    offer,
    competency: area !== null && level !== null ? { area, level } : null,
    purchasedOn,
    anniversaryOn,
    isAutoRenew: isAutoRenew === 1,
    isRequirementsMet: isRequirementsMet === 1,
    payment:
      method === 'credit_card'
        ? { method, token: token ?? '' }
        : method === 'bank_transfer'
          ? { method, contactName: contactName ?? '', phone: phone ?? '', email: email ?? '' }
          : null,
  };
}

/**
 * The fields of the record that differ from the stored columns (`stored` in the order of
 * `subscriptionImportColumns`), each named once; empty when the record is unchanged.
 */
export function changedSubscriptionFields(row: SubscriptionImport, stored: readonly unknown[]): (keyof ImportedSubscription)[] {
  const changed: (keyof ImportedSubscription)[] = [];
  for (let i = 0; i < subscriptionFields.length; i++) {
    const field = subscriptionFields[i]!;
    if (row[i + 1] !== stored[i] && !changed.includes(field)) changed.push(field);
  }
  return changed;
}

export type PartnerImport = [
  id: string,
  name: string,
  locale: Locale,
  isMigrated: 0 | 1,
  billToLine1: string | null,
  billToLine2: string | null,
  billToCity: string | null,
  billToRegion: string | null,
  billToPostalCode: string | null,
  billToCountry: string | null,
  hasBillTo: 0 | 1,
  /** name, email, role of each contact in turn. */
  contacts: string[],
];

/** The stored partner columns compared with positions 1 … 10 of a `PartnerImport`. */
export const partnerImportColumns = [
  'name',
  'locale',
  'is_migrated',
  'bill_to_line1',
  'bill_to_line2',
  'bill_to_city',
  'bill_to_region',
  'bill_to_postal_code',
  'bill_to_country',
  'has_bill_to',
] as const;

export function toPartnerImport(partner: Partner): PartnerImport {
  const b = partner.billTo;
  const contacts: string[] = [];
  for (const c of partner.contacts) contacts.push(c.name, c.email, c.role);
  return [
    partner.id,
    partner.name,
    partner.locale,
    partner.isMigratedToPartnerCenter ? 1 : 0,
    b?.line1 ?? null,
    b?.line2 ?? null,
    b?.city ?? null,
    b?.region ?? null,
    b?.postalCode ?? null,
    b?.country ?? null,
    b ? 1 : 0,
    contacts,
  ];
}

/** True when the partner's columns (`stored`, as `partnerImportColumns`) and contacts (name, email, role in turn) are as imported. */
export function isPartnerUnchanged(row: PartnerImport, stored: readonly unknown[], storedContacts: readonly unknown[]): boolean {
  for (let i = 0; i < partnerImportColumns.length; i++) if (row[i + 1] !== stored[i]) return false;
  const contacts = row[11];
  if (contacts.length !== storedContacts.length) return false;
  for (let i = 0; i < contacts.length; i++) if (contacts[i] !== storedContacts[i]) return false;
  return true;
}
