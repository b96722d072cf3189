import type { BillTo, Contact, Partner, Subscription } from '../../src/policy/types.js';

/**
 * Test data builders. Defaults follow seed 000's example: an Action Pack bought 2018-09-01,
 * anniversary 2019-09-01, active, nothing done yet, of a migrated partner with a valid address
 * and one MPN partner admin. Every test states what it relies on through `overrides`.
 */
export function buildSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 'S-1',
    partnerId: 'P-1001',
    offer: 'action_pack',
    competency: null,
    purchasedOn: '2018-09-01',
    anniversaryOn: '2019-09-01',
    isAutoRenew: false,
    isRequirementsMet: true,
    payment: { method: 'credit_card', token: 'tok_visa' },
    status: 'active',
    doneMask: 0,
    cancelledOn: null,
    lapsedOn: null,
    pendingInvoice: null,
    ...overrides,
  };
}

/** A competency (R9): no auto-renew, no payment on file, requirements met unless overridden. */
export function buildCompetency(overrides: Partial<Subscription> = {}): Subscription {
  return buildSubscription({
    id: 'S-2',
    offer: 'competency',
    competency: { area: 'Cloud Platform', level: 'gold' },
    purchasedOn: '2019-03-10',
    anniversaryOn: '2020-03-10',
    isAutoRenew: false,
    payment: null,
    ...overrides,
  });
}

export function buildBillTo(overrides: Partial<BillTo> = {}): BillTo {
  return { line1: '1 Example Rd', city: 'Taipei', postalCode: '100', country: 'TW', ...overrides };
}

export function buildContact(overrides: Partial<Contact> = {}): Contact {
  return { name: 'Mei Lin', email: 'mei@contoso.example', role: 'mpn_partner_admin', ...overrides };
}

export function buildPartner(overrides: Partial<Partner> = {}): Partner {
  return {
    id: 'P-1001',
    name: 'Contoso Ltd',
    locale: 'zh-TW',
    isMigratedToPartnerCenter: true,
    billTo: buildBillTo(),
    contacts: [buildContact()],
    ...overrides,
  };
}
