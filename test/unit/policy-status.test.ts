import { describe, expect, it } from 'vitest';
import { findBenefitsEndOn, findStatusOn } from '../../src/policy/cycle.js';
import { checkCancellation, checkManualRenewal, checkReactivation } from '../../src/policy/renewal.js';
import { findStanding } from '../../src/policy/standing.js';
import { buildCompetency, buildPartner, buildSubscription } from './builders.js';

// A = 2019-09-01, window 2019-09-02 … 2019-10-01.
describe('findStatusOn for a cancellation (R11: benefits end at A, or on the day of a cancellation inside the window)', () => {
  it.each([
    ['cancelled before A', '2019-08-20', '2019-08-19', 'active'], // before the cancellation was made
    ['cancelled before A', '2019-08-20', '2019-08-31', 'active'],
    ['cancelled before A', '2019-08-20', '2019-09-01', 'active'], // benefits end at A
    ['cancelled before A', '2019-08-20', '2019-09-02', 'cancelled'],
    ['cancelled on A', '2019-09-01', '2019-09-01', 'active'],
    ['cancelled on A', '2019-09-01', '2019-09-02', 'cancelled'],
    ['cancelled inside the window', '2019-09-10', '2019-09-05', 'renewal-window'], // before the cancellation was made
    ['cancelled inside the window', '2019-09-10', '2019-09-10', 'active'], // its last day of benefits, no window any more
    ['cancelled inside the window', '2019-09-10', '2019-09-11', 'cancelled'],
    ['cancelled inside the window', '2019-09-10', '2019-12-01', 'cancelled'],
    ['cancelled on the last day of the window', '2019-10-01', '2019-10-01', 'active'],
    ['cancelled on the last day of the window', '2019-10-01', '2019-10-02', 'cancelled'],
  ])('%s (on %s): %s is %s', (_case, cancelledOn, asOf, status) => {
    expect(findStatusOn(buildSubscription({ status: 'cancelled', cancelledOn }), asOf)).toBe(status);
  });
});

describe('one benefits-end date for a cancellation: cancel, the refusal of a renewal, show', () => {
  const partner = buildPartner();
  it.each([
    { name: 'before A', anniversaryOn: '2019-09-19', cancelledOn: '2019-09-01', benefitsEndOn: '2019-09-19' },
    { name: 'on A', anniversaryOn: '2019-09-19', cancelledOn: '2019-09-19', benefitsEndOn: '2019-09-19' },
    { name: 'inside the window (the audit\'s case)', anniversaryOn: '2019-09-19', cancelledOn: '2019-09-25', benefitsEndOn: '2019-09-25' },
  ])('cancelled $name → benefits end on $benefitsEndOn everywhere', ({ anniversaryOn, cancelledOn, benefitsEndOn }) => {
    const active = buildSubscription({ anniversaryOn });
    const cancelled = { ...active, status: 'cancelled' as const, cancelledOn };
    expect(findBenefitsEndOn(anniversaryOn, cancelledOn)).toBe(benefitsEndOn);
    expect(checkCancellation(active, 'SR-1', cancelledOn)).toEqual({ ok: true, benefitsEndOn });
    expect(checkManualRenewal(cancelled, partner, '2019-09-26')).toEqual({
      ok: false,
      rule: 'R11',
      reason: `subscription S-1 was cancelled on ${cancelledOn}; its benefits end on ${benefitsEndOn}`,
    });
    expect(findStanding(cancelled, partner, benefitsEndOn)).toEqual({
      status: 'active',
      summary: `active, benefits end on ${benefitsEndOn} (cancelled on ${cancelledOn}: no renewal, no reminder)`,
      benefitsEndOn,
      payBy: null,
    });
    expect(findStanding(cancelled, partner, '2019-12-01')).toEqual({
      status: 'cancelled',
      summary: `cancelled on ${cancelledOn}; benefits ended on ${benefitsEndOn}`,
      benefitsEndOn,
      payBy: null,
    });
  });
});

describe('findStanding: what a person means', () => {
  const partner = buildPartner();
  // A = 2019-09-15: window 2019-09-16 … 2019-10-15, lapse 2019-10-16.
  const subscription = buildSubscription({ anniversaryOn: '2019-09-15' });

  it.each([
    { asOf: '2019-09-15', status: 'active', summary: 'active, next anniversary 2019-09-15; renewal window 2019-09-16 … 2019-10-15' },
    { asOf: '2019-09-16', status: 'renewal-window', summary: 'in its renewal window until 2019-10-15 (anniversary 2019-09-15); lapses on 2019-10-16 unless renewed' },
    { asOf: '2019-10-15', status: 'renewal-window', summary: 'in its renewal window until 2019-10-15 (anniversary 2019-09-15); lapses on 2019-10-16 unless renewed' },
    { asOf: '2019-10-16', status: 'lapsed', summary: 'lapsed since 2019-10-16 (the lapse is not processed yet)' },
  ])('$asOf: $summary', ({ asOf, status, summary }) => {
    expect(findStanding(subscription, partner, asOf)).toEqual({ status, summary, benefitsEndOn: null, payBy: null });
  });

  it('lapsed since the day it lapsed, not the day asked about', () => {
    const lapsed = buildSubscription({ anniversaryOn: '2020-03-09', status: 'lapsed', lapsedOn: '2020-04-10' });
    expect(findStanding(lapsed, partner, '2020-08-01')).toMatchObject({ status: 'lapsed', summary: 'lapsed since 2020-04-10' });
  });

  it('a pending invoice: the last day to pay, then that only a payment made by then counts', () => {
    const pending = { ...subscription, pendingInvoice: 'INV-2019-000001' };
    expect(findStanding(pending, partner, '2019-09-20')).toEqual({
      status: 'renewal-window',
      summary: 'in its renewal window until 2019-10-15 (anniversary 2019-09-15); lapses on 2019-10-16 unless renewed; invoice INV-2019-000001 awaits payment, last day to pay 2019-10-15',
      benefitsEndOn: null,
      payBy: '2019-10-15',
    });
    expect(findStanding(pending, partner, '2019-10-16').summary).toBe(
      'lapsed since 2019-10-16 (the lapse is not processed yet); invoice INV-2019-000001 counts only if it was paid by 2019-10-15',
    );
  });

  // R14: a covid-19-2020 competency (A in 2020-01-01 … 2020-06-30) can be reactivated until 2020-06-30.
  it.each([
    { anniversaryOn: '2020-05-30', lapsedOn: '2020-06-30', summary: 'lapsed since 2020-06-30; can be reactivated until 2020-06-30 (exception covid-19-2020, lifecycle reactivate)' },
    { anniversaryOn: '2020-05-31', lapsedOn: '2020-07-01', summary: 'lapsed since 2020-07-01' },
    { anniversaryOn: '2020-06-15', lapsedOn: '2020-07-16', summary: 'lapsed since 2020-07-16' },
  ])('a competency that lapsed on $lapsedOn, seen that day: $summary', ({ anniversaryOn, lapsedOn, summary }) => {
    const lapsed = buildCompetency({ anniversaryOn, status: 'lapsed', lapsedOn });
    expect(findStanding(lapsed, partner, lapsedOn)).toEqual({ status: 'lapsed', summary, benefitsEndOn: null, payBy: null });
  });

  it('a pending reactivation is payable until the exception\'s deadline', () => {
    const lapsed = buildCompetency({ anniversaryOn: '2020-03-10', status: 'lapsed', lapsedOn: '2020-04-10', pendingInvoice: 'INV-2020-000009' });
    expect(findStanding(lapsed, partner, '2020-06-30')).toMatchObject({ summary: 'lapsed since 2020-04-10; invoice INV-2020-000009 awaits payment, last day to pay 2020-06-30', payBy: '2020-06-30' });
    expect(findStanding(lapsed, partner, '2020-07-01').summary).toBe('lapsed since 2020-04-10; invoice INV-2020-000009 counts only if it was paid by 2020-06-30');
  });
});

describe('findStanding: a reactivation invoice issued before the lapse was processed', () => {
  it('is payable until the exception\'s deadline, not A + 30', () => {
    const notProcessed = buildCompetency({ anniversaryOn: '2020-03-10', pendingInvoice: 'INV-2020-000009' });
    expect(findStanding(notProcessed, buildPartner(), '2020-06-20', 'reactivation')).toMatchObject({
      status: 'lapsed',
      payBy: '2020-06-30',
      summary: 'lapsed since 2020-04-10 (the lapse is not processed yet); invoice INV-2020-000009 awaits payment, last day to pay 2020-06-30',
    });
  });
});

describe('checkReactivation on the day a covid-19-2020 competency lapses (R14: paid by 2020-06-30)', () => {
  it.each([
    { anniversaryOn: '2020-05-30', lapsedOn: '2020-06-30', ok: true },
    { anniversaryOn: '2020-05-31', lapsedOn: '2020-07-01', ok: false },
    { anniversaryOn: '2020-06-15', lapsedOn: '2020-07-16', ok: false },
  ])('lapsed on $lapsedOn → reactivation allowed that day: $ok', ({ anniversaryOn, lapsedOn, ok }) => {
    const lapsed = buildCompetency({ anniversaryOn, status: 'lapsed', lapsedOn });
    const result = checkReactivation(lapsed, buildPartner(), lapsedOn);
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result).toEqual({ ok: false, rule: 'R14', reason: `exception covid-19-2020 allowed reactivation until 2020-06-30; it is ${lapsedOn}` });
  });
});
