import { describe, expect, it } from 'vitest';
import { checkPaymentConfirmation, findChangeWhileCharging, voidReasons, type InvoiceFacts } from '../../src/policy/payment.js';
import { buildCompetency, buildPartner, buildSubscription } from './builders.js';

const partner = buildPartner();

function buildInvoice(overrides: Partial<InvoiceFacts> = {}): InvoiceFacts {
  return {
    number: 'INV-2019-000001',
    status: 'pending',
    purpose: 'auto-renew',
    anniversaryOn: '2019-09-15',
    renewsTo: '2020-09-15',
    issuedOn: '2019-09-15',
    failureReason: null,
    ...overrides,
  };
}

// A = 2019-09-15: window 2019-09-16 … 2019-10-15, lapse on 2019-10-16 (R3, R5).
const bankTransfer = buildSubscription({
  anniversaryOn: '2019-09-15',
  isAutoRenew: true,
  payment: { method: 'bank_transfer', contactName: 'Ana Ruiz', phone: '+1 206 555 0100', email: 'ap@fabrikam.example' },
  pendingInvoice: 'INV-2019-000001',
});
const tooLate = (asOf: string) =>
  `invoice INV-2019-000001 paid on ${asOf} is too late: the renewal window of anniversary 2019-09-15 ran from 2019-09-16 to 2019-10-15 (the last day to pay); S-1 lapsed on 2019-10-16`;

describe('checkPaymentConfirmation (R5: a renewal is paid by A + 30, whatever ran already)', () => {
  it.each([
    { name: 'auto-renew invoice, on A (the day it was issued)', invoice: buildInvoice(), asOf: '2019-09-15' },
    { name: 'auto-renew invoice, A + 30', invoice: buildInvoice(), asOf: '2019-10-15' },
    { name: 'manual-gateway renewal issued on 2019-10-10, A + 30', invoice: buildInvoice({ purpose: 'renewal', issuedOn: '2019-10-10', renewsTo: '2020-09-14' }), asOf: '2019-10-15' },
  ])('accepts $name', ({ invoice, asOf }) => {
    expect(checkPaymentConfirmation(bankTransfer, partner, invoice, asOf)).toEqual({ ok: true, outcome: 'renewed', newAnniversary: invoice.renewsTo });
  });

  it.each([
    { name: 'auto-renew invoice, A + 31, the lapse job not run yet', subscription: bankTransfer, invoice: buildInvoice(), asOf: '2019-10-16' },
    { name: 'auto-renew invoice, 2019-10-25 (the audit\'s case)', subscription: bankTransfer, invoice: buildInvoice(), asOf: '2019-10-25' },
    { name: 'manual-gateway renewal issued on 2019-10-10, A + 31', subscription: bankTransfer, invoice: buildInvoice({ purpose: 'renewal', issuedOn: '2019-10-10' }), asOf: '2019-10-16' },
    { name: 'manual-gateway renewal issued on 2019-10-10, 2019-10-20', subscription: bankTransfer, invoice: buildInvoice({ purpose: 'renewal', issuedOn: '2019-10-10' }), asOf: '2019-10-20' },
  ])('refuses $name', ({ subscription, invoice, asOf }) => {
    expect(checkPaymentConfirmation(subscription, partner, invoice, asOf)).toEqual({ ok: false, rule: 'R5', reason: tooLate(asOf) });
  });

  describe('an invoice the lapse voided (its payment confirmed after the lapse job ran)', () => {
    const lapsed = { ...bankTransfer, status: 'lapsed' as const, lapsedOn: '2019-10-16', pendingInvoice: null };
    const voided = buildInvoice({ status: 'void', failureReason: voidReasons.lapsed });
    const voidedUnpaid =
      'invoice INV-2019-000001 was voided when S-1 lapsed on 2019-10-16, unpaid: the renewal window of anniversary 2019-09-15 ran from 2019-09-16 to 2019-10-15 (the last day to pay); S-1 lapsed on 2019-10-16';

    it.each(['2019-09-15', '2019-10-14', '2019-10-15'])('paid on %s, inside the window: renews and undoes the lapse', (asOf) => {
      expect(checkPaymentConfirmation(lapsed, partner, voided, asOf)).toEqual({ ok: true, outcome: 'renewed', newAnniversary: '2020-09-15', undoesLapseOf: '2019-10-16' });
    });

    it('paid in time while a reactivation invoice waits: renews, and that invoice is to be voided', () => {
      expect(checkPaymentConfirmation({ ...lapsed, pendingInvoice: 'INV-2020-000009' }, partner, voided, '2019-10-14')).toEqual({
        ok: true,
        outcome: 'renewed',
        newAnniversary: '2020-09-15',
        undoesLapseOf: '2019-10-16',
        voidsInvoice: 'INV-2020-000009',
      });
    });

    it.each([
      { name: 'paid on A + 31', subscription: lapsed, invoice: voided, asOf: '2019-10-16', rule: 'R5', reason: voidedUnpaid },
      { name: 'paid before it was issued', subscription: lapsed, invoice: buildInvoice({ status: 'void', failureReason: voidReasons.lapsed, issuedOn: '2019-09-20' }), asOf: '2019-09-18', rule: 'R12', reason: 'invoice INV-2019-000001 was issued on 2019-09-20: a payment cannot arrive before it, on 2019-09-18' },
      { name: 'after a reactivation started a new cycle', subscription: { ...lapsed, status: 'active' as const, anniversaryOn: '2020-09-15', lapsedOn: null }, invoice: voided, asOf: '2019-10-14', rule: 'R6', reason: 'invoice INV-2019-000001 renews cycle 2019-09-15, which lapsed on 2019-10-16; S-1 is now in cycle 2020-09-15' },
    ])('refuses it $name', ({ subscription, invoice, asOf, rule, reason }) => {
      expect(checkPaymentConfirmation(subscription, partner, invoice, asOf)).toEqual({ ok: false, rule, reason });
    });
  });

  it('refuses an invoice voided by a cancellation, naming R11 and the day benefits end', () => {
    const cancelled = { ...bankTransfer, status: 'cancelled' as const, cancelledOn: '2019-09-25', pendingInvoice: null };
    const voided = buildInvoice({ status: 'void', failureReason: voidReasons.cancelled });
    expect(checkPaymentConfirmation(cancelled, partner, voided, '2019-09-26')).toEqual({
      ok: false,
      rule: 'R11',
      reason: 'invoice INV-2019-000001 was voided by the cancellation: subscription S-1 was cancelled on 2019-09-25; its benefits end on 2019-09-25',
    });
  });

  it.each([
    { name: 'paid', invoice: buildInvoice({ status: 'paid' }), reason: 'invoice INV-2019-000001 is paid, not pending' },
    { name: 'failed', invoice: buildInvoice({ status: 'failed', failureReason: 'card_declined' }), reason: 'invoice INV-2019-000001 is failed (card_declined), not pending' },
    {
      name: 'voided when an import restarted the cycle',
      invoice: buildInvoice({ status: 'void', failureReason: voidReasons.cycleRestarted }),
      reason: 'invoice INV-2019-000001 is void (cycle restarted by import), not pending',
    },
  ])('refuses an invoice that is $name (R12)', ({ invoice, reason }) => {
    expect(checkPaymentConfirmation(bankTransfer, partner, invoice, '2019-09-20')).toEqual({ ok: false, rule: 'R12', reason });
  });

  it('refuses an invoice of another cycle (R6)', () => {
    const renewed = { ...bankTransfer, anniversaryOn: '2020-09-15' };
    expect(checkPaymentConfirmation(renewed, partner, buildInvoice(), '2019-09-20')).toMatchObject({ ok: false, rule: 'R6' });
  });

  it('refuses a payment dated before the invoice was issued (R12)', () => {
    expect(checkPaymentConfirmation(bankTransfer, partner, buildInvoice({ issuedOn: '2019-09-20' }), '2019-09-19')).toEqual({
      ok: false,
      rule: 'R12',
      reason: 'invoice INV-2019-000001 was issued on 2019-09-20: a payment cannot arrive before it, on 2019-09-19',
    });
  });
});

describe('checkPaymentConfirmation (R14: a covid-19-2020 reactivation counts only if paid by 2020-06-30)', () => {
  // A = 2020-03-10 (inside the exception), lapsed on 2020-04-10, partner moved to Partner Center.
  const lapsed = buildCompetency({ anniversaryOn: '2020-03-10', status: 'lapsed', lapsedOn: '2020-04-10', pendingInvoice: 'INV-2020-000009' });
  const reactivation = buildInvoice({ number: 'INV-2020-000009', purpose: 'reactivation', anniversaryOn: '2020-03-10', renewsTo: '2021-03-10', issuedOn: '2020-06-20' });

  it.each(['2020-06-20', '2020-06-30'])('accepts a payment on %s', (asOf) => {
    expect(checkPaymentConfirmation(lapsed, partner, reactivation, asOf)).toEqual({ ok: true, outcome: 'reactivated', newAnniversary: '2021-03-10' });
  });

  it.each(['2020-07-01', '2020-07-05'])('refuses a payment on %s', (asOf) => {
    expect(checkPaymentConfirmation(lapsed, partner, reactivation, asOf)).toEqual({
      ok: false,
      rule: 'R14',
      reason: `invoice INV-2020-000009 cannot count on ${asOf}: exception covid-19-2020 allowed reactivation until 2020-06-30; it is ${asOf}`,
    });
  });
});

describe('findChangeWhileCharging (a charge renews only the cycle it was decided on)', () => {
  const before = buildSubscription({ anniversaryOn: '2019-09-15', isAutoRenew: true });
  it.each([
    { name: 'nothing changed but the done mask', now: { ...before, doneMask: 1 }, expected: null },
    { name: 'deleted by an import', now: null, expected: { reason: 'unknown-subscription', description: 'it is gone (deleted by an import)' } },
    { name: 'renewed by an operator', now: { ...before, anniversaryOn: '2020-09-14' }, expected: { reason: 'renewed', description: 'it was renewed meanwhile (anniversary now 2020-09-14)' } },
    { name: 'cancelled', now: { ...before, status: 'cancelled' as const, cancelledOn: '2019-09-15' }, expected: { reason: 'cancelled', description: 'it was cancelled meanwhile (on 2019-09-15)' } },
    { name: 'lapsed', now: { ...before, status: 'lapsed' as const, lapsedOn: '2019-10-16' }, expected: { reason: 'lapsed', description: 'it lapsed meanwhile (on 2019-10-16)' } },
    { name: 'another invoice pending', now: { ...before, pendingInvoice: 'INV-2019-000007' }, expected: { reason: 'renewed', description: 'invoice INV-2019-000007 became pending for it meanwhile' } },
  ])('$name', ({ now, expected }) => {
    expect(findChangeWhileCharging(before, now)).toEqual(expected);
  });

  it('a reactivation decided on a lapsed subscription goes on while it stays lapsed', () => {
    const lapsed = { ...before, status: 'lapsed' as const, lapsedOn: '2019-10-16' };
    expect(findChangeWhileCharging(lapsed, { ...lapsed })).toBeNull();
    expect(findChangeWhileCharging(lapsed, { ...lapsed, status: 'active', anniversaryOn: '2020-09-14' })?.reason).toBe('renewed');
  });
});
