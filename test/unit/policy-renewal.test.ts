import { describe, expect, it } from 'vitest';
import { findExceptions } from '../../src/policy/exceptions.js';
import { selectRecipients } from '../../src/policy/recipients.js';
import { checkAutoRenewal, checkCancellation, checkManualRenewal, checkReactivation, checkReactivationRequest, validateBillTo } from '../../src/policy/renewal.js';
import { addDays } from '../../src/policy/dates.js';
import type { Contact, Role } from '../../src/policy/types.js';
import { buildBillTo, buildCompetency, buildContact, buildPartner, buildSubscription } from './builders.js';

const partner = buildPartner();
const notMigratedPartner = buildPartner({ id: 'P-1002', isMigratedToPartnerCenter: false });

describe('checkManualRenewal (R6: only inside the window A + 1 … A + 30)', () => {
  const seed000 = buildSubscription({ anniversaryOn: '2019-09-01' });
  const seed002 = buildSubscription({ anniversaryOn: '2020-06-22' });

  it.each([
    { name: 'seed 000: the day before A', subscription: seed000, asOf: '2019-08-31', dates: ['2019-09-02', '2019-10-01'] },
    { name: 'seed 000: on A itself (renewable only after it expires, seed 002)', subscription: seed000, asOf: '2019-09-01', dates: ['2019-09-02', '2019-10-01'] },
    { name: 'seed 002: expires June 22, on June 22', subscription: seed002, asOf: '2020-06-22', dates: ['2020-06-23', '2020-07-22'] },
  ])('refuses before the window: $name', ({ subscription, asOf, dates }) => {
    const result = checkManualRenewal(subscription, partner, asOf);
    expect(result).toMatchObject({ ok: false, rule: 'R6' });
    expect(result.ok === false && result.reason).toBe(
      `not yet eligible on ${asOf}: the renewal window opens on ${dates[0]} and closes on ${dates[1]}`,
    );
  });

  it.each([
    { name: 'seed 000: first day of the window', subscription: seed000, asOf: '2019-09-02', newAnniversary: '2020-08-31' },
    { name: 'seed 000: last day of the window', subscription: seed000, asOf: '2019-10-01', newAnniversary: '2020-08-31' },
    { name: 'seed 002: June 23', subscription: seed002, asOf: '2020-06-23', newAnniversary: '2021-06-22' },
    { name: 'seed 002: 30 days after, July 22', subscription: seed002, asOf: '2020-07-22', newAnniversary: '2021-06-22' },
  ])('allows inside the window: $name → new anniversary $newAnniversary', ({ subscription, asOf, newAnniversary }) => {
    expect(checkManualRenewal(subscription, partner, asOf)).toEqual({ ok: true, newAnniversary, waivedBy: null });
  });

  it.each([
    { name: 'seed 000: A + 31, before the lapse job ran', subscription: seed000, asOf: '2019-10-02', lapsedOn: '2019-10-02' },
    { name: 'seed 002: July 23', subscription: seed002, asOf: '2020-07-23', lapsedOn: '2020-07-23' },
    {
      name: 'stored lapsed (lapse job ran late)',
      subscription: buildSubscription({ anniversaryOn: '2019-09-01', status: 'lapsed', lapsedOn: '2019-10-05' }),
      asOf: '2019-10-20',
      lapsedOn: '2019-10-05',
    },
  ])('refuses after the window: $name', ({ subscription, asOf, lapsedOn }) => {
    const result = checkManualRenewal(subscription, partner, asOf);
    expect(result).toMatchObject({ ok: false, rule: 'R6' });
    expect(result.ok === false && result.reason).toMatch(new RegExp(`^lapsed on ${lapsedOn}: `));
  });

  it.each([
    { name: 'across Feb 29 (seed 000: 365 days, not a year)', anniversary: '2019-03-01', asOf: '2019-03-02', expected: '2020-02-29' },
    { name: 'from Feb 28 of a leap year', anniversary: '2020-02-28', asOf: '2020-03-01', expected: '2021-02-27' },
    { name: 'from Feb 29', anniversary: '2020-02-29', asOf: '2020-03-01', expected: '2021-02-28' },
    { name: 'not across Feb 29', anniversary: '2020-09-01', asOf: '2020-09-02', expected: '2021-09-01' },
    { name: 'year end', anniversary: '2019-12-31', asOf: '2020-01-30', expected: '2020-12-30' },
  ])('new anniversary = A + 365 days: $name', ({ anniversary, asOf, expected }) => {
    const result = checkManualRenewal(buildSubscription({ anniversaryOn: anniversary }), partner, asOf);
    expect(result).toEqual({ ok: true, newAnniversary: expected, waivedBy: null });
  });

  it('refuses a competency whose requirements are not met (R9)', () => {
    const unmet = buildCompetency({ anniversaryOn: '2019-09-01', isRequirementsMet: false, competency: { area: 'Security', level: 'gold' } });
    expect(checkManualRenewal(unmet, partner, '2019-09-10')).toEqual({
      ok: false,
      rule: 'R9',
      reason: 'the requirements of competency Security (gold) are not met',
    });
  });

  it('allows a competency whose requirements are met', () => {
    const met = buildCompetency({ anniversaryOn: '2019-09-01', isRequirementsMet: true });
    expect(checkManualRenewal(met, partner, '2019-09-10')).toEqual({ ok: true, newAnniversary: '2020-08-31', waivedBy: null });
  });

  it('refuses while a renewal waits for its payment (R7)', () => {
    const pending = buildSubscription({ anniversaryOn: '2019-09-01', pendingInvoice: 'INV-2019-0001' });
    const result = checkManualRenewal(pending, partner, '2019-09-10');
    expect(result).toMatchObject({ ok: false, rule: 'R7' });
    expect(result.ok === false && result.reason).toContain('INV-2019-0001');
  });

  it('refuses a cancelled subscription (R11), inside the window too', () => {
    const cancelled = buildSubscription({ anniversaryOn: '2019-09-01', status: 'cancelled', cancelledOn: '2019-08-20' });
    const result = checkManualRenewal(cancelled, partner, '2019-09-10');
    expect(result).toMatchObject({ ok: false, rule: 'R11' });
    expect(result.ok === false && result.reason).toBe('subscription S-1 was cancelled on 2019-08-20; its benefits end on 2019-09-01');
  });
});

describe('checkAutoRenewal (R7, R13)', () => {
  it.each([
    { name: 'seed 000 date', anniversary: '2019-09-01', expected: '2020-09-01' },
    { name: 'Feb 29 → Feb 28', anniversary: '2020-02-29', expected: '2021-02-28' },
    { name: 'Feb 28 before a leap year stays Feb 28 (a calendar year, not 365 days)', anniversary: '2019-02-28', expected: '2020-02-28' },
    { name: 'Mar 1 before a leap year stays Mar 1', anniversary: '2019-03-01', expected: '2020-03-01' },
  ])('renews to the same calendar date next year: $name', ({ anniversary, expected }) => {
    const subscription = buildSubscription({ anniversaryOn: anniversary, isAutoRenew: true });
    expect(checkAutoRenewal(subscription, partner)).toEqual({ ok: true, newAnniversary: expected });
  });

  it('accepts a bank transfer as the payment method', () => {
    const subscription = buildSubscription({
      isAutoRenew: true,
      payment: { method: 'bank_transfer', contactName: 'Ana Ruiz', phone: '+1 206 555 0100', email: 'ap@fabrikam.example' },
    });
    expect(checkAutoRenewal(subscription, partner)).toEqual({ ok: true, newAnniversary: '2020-09-01' });
  });

  it('fails without a payment method', () => {
    const subscription = buildSubscription({ isAutoRenew: true, payment: null });
    expect(checkAutoRenewal(subscription, partner)).toEqual({ ok: false, failure: 'no-payment-method', reason: 'no payment method on file' });
  });

  it.each([
    { name: 'missing line1', billTo: buildBillTo({ line1: '' }), problem: 'line1 is empty' },
    { name: 'missing city', billTo: buildBillTo({ city: '  ' }), problem: 'city is empty' },
    { name: 'bad country', billTo: buildBillTo({ country: 'Taiwan' }), problem: 'country "Taiwan" is not an ISO 3166 two-letter code' },
  ])('fails with an invalid bill-to address: $name', ({ billTo, problem }) => {
    const subscription = buildSubscription({ isAutoRenew: true });
    expect(checkAutoRenewal(subscription, buildPartner({ billTo }))).toEqual({
      ok: false,
      failure: 'invalid-address',
      reason: `update your bill-to address: ${problem}`,
    });
  });

  it('fails without a bill-to address', () => {
    const result = checkAutoRenewal(buildSubscription({ isAutoRenew: true }), buildPartner({ billTo: null }));
    expect(result).toEqual({ ok: false, failure: 'invalid-address', reason: 'update your bill-to address: no bill-to address' });
  });
});

describe('validateBillTo (R13)', () => {
  it.each([
    { name: 'a complete TW address', billTo: buildBillTo(), expected: [] },
    { name: 'missing line1', billTo: buildBillTo({ line1: '' }), expected: ['line1 is empty'] },
    { name: 'blank line1', billTo: buildBillTo({ line1: '   ' }), expected: ['line1 is empty'] },
    { name: 'missing city', billTo: buildBillTo({ city: '' }), expected: ['city is empty'] },
    { name: 'lower-case country', billTo: buildBillTo({ country: 'tw' }), expected: ['country "tw" is not an ISO 3166 two-letter code'] },
    { name: 'three-letter country', billTo: buildBillTo({ country: 'TWN' }), expected: ['country "TWN" is not an ISO 3166 two-letter code'] },
    { name: 'empty country', billTo: buildBillTo({ country: '' }), expected: ['country "" is not an ISO 3166 two-letter code'] },
    { name: 'missing postal code in the US', billTo: buildBillTo({ country: 'US', postalCode: undefined }), expected: ['postal code is empty'] },
    { name: 'blank postal code in TW', billTo: buildBillTo({ postalCode: ' ' }), expected: ['postal code is empty'] },
    { name: 'no postal code in Ireland (none there)', billTo: buildBillTo({ country: 'IE', postalCode: undefined }), expected: [] },
    { name: 'no postal code in Hong Kong (none there)', billTo: buildBillTo({ country: 'HK', postalCode: undefined }), expected: [] },
    {
      name: 'several problems at once, in field order',
      billTo: buildBillTo({ line1: '', city: '', country: 'US', postalCode: undefined }),
      expected: ['line1 is empty', 'city is empty', 'postal code is empty'],
    },
    { name: 'no address', billTo: null, expected: ['no bill-to address'] },
  ])('$name → $expected', ({ billTo, expected }) => {
    expect(validateBillTo(billTo)).toEqual(expected);
  });
});

describe('checkCancellation (R11)', () => {
  const subscription = buildSubscription({ anniversaryOn: '2019-09-01', isAutoRenew: true });

  it.each([
    { name: 'before the anniversary: benefits end at A', asOf: '2019-08-20', benefitsEndOn: '2019-09-01' },
    { name: 'on the anniversary', asOf: '2019-09-01', benefitsEndOn: '2019-09-01' },
    { name: 'first day of the window: benefits end that day', asOf: '2019-09-02', benefitsEndOn: '2019-09-02' },
    { name: 'last day of the window', asOf: '2019-10-01', benefitsEndOn: '2019-10-01' },
  ])('$name → benefits end on $benefitsEndOn', ({ asOf, benefitsEndOn }) => {
    expect(checkCancellation(subscription, 'SR-123', asOf)).toEqual({ ok: true, benefitsEndOn });
  });

  it.each([
    { name: 'no ticket', ticket: '' },
    { name: 'a blank ticket', ticket: '   ' },
  ])('needs a support ticket: $name', ({ ticket }) => {
    expect(checkCancellation(subscription, ticket, '2019-08-20')).toEqual({
      ok: false,
      rule: 'R11',
      reason: 'a cancellation needs the support ticket id (--ticket)',
    });
  });

  it.each([
    { name: 'past the window (A + 31)', subscription, asOf: '2019-10-02', reason: 'nothing to cancel: lapsed on 2019-10-02' },
    {
      name: 'stored lapsed',
      subscription: { ...subscription, status: 'lapsed' as const, lapsedOn: '2019-10-03' },
      asOf: '2019-10-03',
      reason: 'nothing to cancel: lapsed on 2019-10-03',
    },
  ])('refuses a lapsed subscription: $name', ({ subscription: lapsed, asOf, reason }) => {
    expect(checkCancellation(lapsed, 'SR-123', asOf)).toEqual({ ok: false, rule: 'R5', reason });
  });

  it('refuses a day before the purchase', () => {
    expect(checkCancellation(subscription, 'SR-125', addDays(subscription.purchasedOn, -1))).toEqual({
      ok: false,
      rule: 'R11',
      reason: `a cancellation cannot be dated ${addDays(subscription.purchasedOn, -1)}, before the purchase on ${subscription.purchasedOn}`,
    });
    expect(checkCancellation(subscription, 'SR-125', subscription.purchasedOn)).toMatchObject({ ok: true });
  });

  it('refuses an already cancelled subscription', () => {
    const cancelled = { ...subscription, status: 'cancelled' as const, cancelledOn: '2019-08-10' };
    expect(checkCancellation(cancelled, 'SR-124', '2019-08-20')).toEqual({ ok: false, rule: 'R11', reason: 'already cancelled on 2019-08-10' });
  });
});

describe('R14 covid-19-2020: findExceptions', () => {
  it.each([
    { name: 'just before the range', anniversary: '2019-12-31', applies: false },
    { name: 'first day of the range', anniversary: '2020-01-01', applies: true },
    { name: 'inside the range', anniversary: '2020-03-10', applies: true },
    { name: 'last day of the range', anniversary: '2020-06-30', applies: true },
    { name: 'just after the range', anniversary: '2020-07-01', applies: false },
  ])('competency with anniversary $anniversary ($name) → applies: $applies', ({ anniversary, applies }) => {
    const found = findExceptions(buildCompetency({ anniversaryOn: anniversary }), partner);
    expect(found.map((e) => e.id)).toEqual(applies ? ['covid-19-2020'] : []);
  });

  it.each([
    { anniversary: '2020-03-10', waivedUntil: '2021-03-10' },
    { anniversary: '2020-06-30', waivedUntil: '2021-06-30' },
    // A + 365 in a leap year: the "next anniversary" of a 2020-01-01 cycle is 2020-12-31 (R6), not in 2021 as seed 000 words it.
    { anniversary: '2020-01-01', waivedUntil: '2020-12-31' },
  ])('waives requirements until the next anniversary: $anniversary → $waivedUntil', ({ anniversary, waivedUntil }) => {
    expect(findExceptions(buildCompetency({ anniversaryOn: anniversary }), partner)).toEqual([
      { id: 'covid-19-2020', isEligible: true, requirementsWaivedUntil: waivedUntil, reactivationDeadline: '2020-06-30' },
    ]);
  });

  it('applies only to competencies', () => {
    expect(findExceptions(buildSubscription({ anniversaryOn: '2020-03-10' }), partner)).toEqual([]);
  });

  it('marks a partner not moved to Partner Center as not eligible', () => {
    expect(findExceptions(buildCompetency({ anniversaryOn: '2020-03-10' }), notMigratedPartner)).toEqual([
      { id: 'covid-19-2020', isEligible: false, requirementsWaivedUntil: '2021-03-10', reactivationDeadline: '2020-06-30' },
    ]);
  });
});

describe('R14 covid-19-2020: renewal with requirements not met', () => {
  const unmet = (anniversaryOn: string) => buildCompetency({ anniversaryOn, isRequirementsMet: false });

  it.each([
    { name: 'first day of the range', anniversary: '2020-01-01', asOf: '2020-01-02', newAnniversary: '2020-12-31' },
    { name: 'inside the range', anniversary: '2020-03-10', asOf: '2020-03-11', newAnniversary: '2021-03-10' },
    { name: 'last day of the range, renewed in July', anniversary: '2020-06-30', asOf: '2020-07-30', newAnniversary: '2021-06-30' },
  ])('waives them for a migrated partner: $name', ({ anniversary, asOf, newAnniversary }) => {
    expect(checkManualRenewal(unmet(anniversary), partner, asOf)).toEqual({ ok: true, newAnniversary, waivedBy: 'covid-19-2020' });
  });

  it.each([
    { name: 'just before the range', anniversary: '2019-12-31', asOf: '2020-01-01' },
    { name: 'just after the range', anniversary: '2020-07-01', asOf: '2020-07-02' },
  ])('does not waive them outside the range: $name', ({ anniversary, asOf }) => {
    expect(checkManualRenewal(unmet(anniversary), partner, asOf)).toEqual({
      ok: false,
      rule: 'R9',
      reason: 'the requirements of competency Cloud Platform (gold) are not met',
    });
  });

  it('refuses a partner not moved yet, naming R14 and saying that moving makes it eligible', () => {
    const result = checkManualRenewal(unmet('2020-03-10'), notMigratedPartner, '2020-03-11');
    expect(result).toMatchObject({ ok: false, rule: 'R9' });
    expect(result.ok === false && result.reason).toBe(
      'the requirements of competency Cloud Platform (gold) are not met (exception covid-19-2020, R14, would waive them once the partner moves to Partner Center)',
    );
  });
});

describe('R14 covid-19-2020: checkReactivation', () => {
  // Anniversary 2020-03-01: lapsed on 2020-04-01.
  const lapsedCompetency = buildCompetency({ anniversaryOn: '2020-03-01', isRequirementsMet: false, status: 'lapsed', lapsedOn: '2020-04-01' });

  it.each([
    { name: 'the day it lapsed', asOf: '2020-04-01' },
    { name: 'the last day of the exception (2020-06-30)', asOf: '2020-06-30' },
  ])('allows reactivation: $name', ({ asOf }) => {
    expect(checkReactivation(lapsedCompetency, partner, asOf)).toEqual({ ok: true, newAnniversary: '2021-03-01', waivedBy: 'covid-19-2020' });
  });

  it('allows it before the lapse job ran (stored active, past A + 30)', () => {
    const notYetMarked = { ...lapsedCompetency, status: 'active' as const, lapsedOn: null };
    expect(checkReactivation(notYetMarked, partner, '2020-04-02')).toEqual({ ok: true, newAnniversary: '2021-03-01', waivedBy: 'covid-19-2020' });
  });

  it('refuses on 2020-07-01', () => {
    expect(checkReactivation(lapsedCompetency, partner, '2020-07-01')).toEqual({
      ok: false,
      rule: 'R14',
      reason: 'exception covid-19-2020 allowed reactivation until 2020-06-30; it is 2020-07-01',
    });
  });

  it('refuses a partner not moved to Partner Center, saying that moving makes it eligible', () => {
    const result = checkReactivation(lapsedCompetency, notMigratedPartner, '2020-05-01');
    expect(result).toMatchObject({ ok: false, rule: 'R14' });
    expect(result.ok === false && result.reason).toBe(
      "exception covid-19-2020 needs the partner's membership moved to Partner Center; partner P-1002 has not moved yet",
    );
  });

  it.each([
    {
      name: 'an Action Pack (the exception is for competencies)',
      subscription: buildSubscription({ anniversaryOn: '2020-03-01', status: 'lapsed', lapsedOn: '2020-04-01' }),
      asOf: '2020-05-01',
      rule: 'R5',
    },
    {
      name: 'a competency outside the range',
      subscription: buildCompetency({ anniversaryOn: '2019-12-31', status: 'lapsed', lapsedOn: '2020-01-31' }),
      asOf: '2020-02-01',
      rule: 'R5',
    },
    { name: 'a competency still in its window', subscription: buildCompetency({ anniversaryOn: '2020-03-01' }), asOf: '2020-03-15', rule: 'R6' },
    {
      name: 'a cancelled competency',
      subscription: buildCompetency({ anniversaryOn: '2020-03-01', status: 'cancelled', cancelledOn: '2020-02-01' }),
      asOf: '2020-04-15',
      rule: 'R11',
    },
  ])('refuses $name ($rule)', ({ subscription, asOf, rule }) => {
    expect(checkReactivation(subscription, partner, asOf)).toMatchObject({ ok: false, rule });
  });

  it('points a manual renewal of a reactivatable lapsed competency to reactivation', () => {
    const result = checkManualRenewal(lapsedCompetency, partner, '2020-05-01');
    expect(result).toEqual({
      ok: false,
      rule: 'R6',
      reason: 'lapsed on 2020-04-01: the renewal window ran from 2020-03-02 to 2020-03-31; it can be reactivated (lifecycle reactivate)',
    });
  });
});

describe('R14 covid-19-2020: checkReactivationRequest (an operator asks for one)', () => {
  const lapsed = buildCompetency({ anniversaryOn: '2020-03-01', status: 'lapsed', lapsedOn: '2020-04-01' });
  const granted = { ok: true, newAnniversary: '2021-03-01', waivedBy: 'covid-19-2020' };

  it('refuses while a reactivation waits for its payment (R7): one invoice to pay', () => {
    expect(checkReactivationRequest({ ...lapsed, pendingInvoice: 'INV-2020-000007' }, partner, '2020-05-01', 'reactivation')).toEqual({
      ok: false,
      rule: 'R7',
      reason: 'a reactivation is already waiting for payment of invoice INV-2020-000007 (lifecycle payments confirm INV-2020-000007)',
    });
  });

  it.each([
    { name: 'nothing pending', pendingInvoice: null, purpose: null },
    { name: 'a renewal invoice unpaid past A + 30 (the lapse job has not run)', pendingInvoice: 'INV-2020-000003', purpose: 'renewal' as const },
    { name: 'an auto-renew invoice unpaid past A + 30', pendingInvoice: 'INV-2020-000003', purpose: 'auto-renew' as const },
  ])('allows it with $name', ({ pendingInvoice, purpose }) => {
    const subscription = { ...lapsed, status: 'active' as const, lapsedOn: null, pendingInvoice };
    expect(checkReactivationRequest(subscription, partner, '2020-04-02', purpose)).toEqual(granted);
  });

  it('gives checkReactivation\'s refusal first (R14 after 2020-06-30)', () => {
    expect(checkReactivationRequest({ ...lapsed, pendingInvoice: 'INV-2020-000007' }, partner, '2020-07-01', 'reactivation')).toMatchObject({ ok: false, rule: 'R14' });
  });
});

describe('selectRecipients (R10)', () => {
  const roleCases: { role: Role; isRecipient: boolean }[] = [
    { role: 'global_admin', isRecipient: true },
    { role: 'user_admin', isRecipient: true },
    { role: 'mpn_partner_admin', isRecipient: true },
    { role: 'admin_agent', isRecipient: true },
    { role: 'sales_agent', isRecipient: true },
    { role: 'other', isRecipient: false },
  ];
  it.each(roleCases)('$role → recipient: $isRecipient', ({ role, isRecipient }) => {
    const contact = buildContact({ role, email: `${role}@contoso.example` });
    expect(selectRecipients([contact])).toEqual(isRecipient ? [{ name: contact.name, email: contact.email }] : []);
  });

  it.each([
    { name: 'no contacts', contacts: [], expected: [] },
    { name: 'only other roles (undeliverable)', contacts: [buildContact({ role: 'other' })], expected: [] },
    {
      name: 'keeps order, leaves out other roles',
      contacts: [
        buildContact({ name: 'Ana', email: 'ana@x.example', role: 'sales_agent' }),
        buildContact({ name: 'Bo', email: 'bo@x.example', role: 'other' }),
        buildContact({ name: 'Cy', email: 'cy@x.example', role: 'global_admin' }),
      ],
      expected: [
        { name: 'Ana', email: 'ana@x.example' },
        { name: 'Cy', email: 'cy@x.example' },
      ],
    },
    {
      name: 'one message per address, whatever its case',
      contacts: [
        buildContact({ name: 'Mei', email: 'mei@contoso.example', role: 'global_admin' }),
        buildContact({ name: 'Mei Lin', email: 'MEI@Contoso.example', role: 'user_admin' }),
      ],
      expected: [{ name: 'Mei', email: 'mei@contoso.example' }],
    },
  ] satisfies { name: string; contacts: Contact[]; expected: { name: string; email: string }[] }[])('$name', ({ contacts, expected }) => {
    expect(selectRecipients(contacts)).toEqual(expected);
  });
});
