import { findCycleDates } from './cycle.js';
import type { IsoDate } from './dates.js';
import type { ActionOutcome, SkipReason } from './outcomes.js';
import { checkNotEnded, checkReactivation, refuse, type Refusal } from './renewal.js';
import type { Partner, Subscription } from './types.js';

/** What the rules need to know of an invoice (R12), whatever stores it. */
export interface InvoiceFacts {
  number: string;
  status: 'paid' | 'pending' | 'failed' | 'void';
  purpose: 'auto-renew' | 'renewal' | 'reactivation';
  /** The anniversary of the cycle the invoice renews. */
  anniversaryOn: IsoDate;
  renewsTo: IsoDate;
  issuedOn: IsoDate;
  failureReason: string | null;
}

/** Why an invoice was voided, as written in `failure_reason`. */
export const voidReasons = {
  lapsed: 'lapsed before payment',
  cancelled: 'cancelled',
  cycleRestarted: 'cycle restarted by import',
  changedWhileCharging: 'the subscription changed while it was charged',
  renewalPaidInTime: 'the renewal it replaced was paid in time',
} as const;

/** What changed a subscription between the charge's decision and its answer (see findChangeWhileCharging). */
export interface ChangeWhileCharging {
  reason: Extract<SkipReason, 'unknown-subscription' | 'renewed' | 'lapsed' | 'cancelled'>;
  /** For the operator: "it was cancelled meanwhile (on 2025-06-03)". */
  description: string;
}

/**
 * A charge is decided on the subscription as it was (R7, R14), then the gateway answers outside
 * any transaction: an operator may cancel, renew or confirm a payment meanwhile, or an import
 * restart the cycle. Null when `now` (read again under the row's lock) is still the cycle the
 * charge was for; otherwise what happened, and the charge must not renew it (R11: a cancelled
 * subscription is never renewed; a cycle renewed twice is paid twice).
 */
export function findChangeWhileCharging(before: Subscription, now: Subscription | null): ChangeWhileCharging | null {
  if (!now) return { reason: 'unknown-subscription', description: 'it is gone (deleted by an import)' };
  if (now.anniversaryOn !== before.anniversaryOn) return { reason: 'renewed', description: `it was renewed meanwhile (anniversary now ${now.anniversaryOn})` };
  if (now.status === 'cancelled' && before.status !== 'cancelled') return { reason: 'cancelled', description: `it was cancelled meanwhile (on ${now.cancelledOn ?? '?'})` };
  if (now.status === 'lapsed' && before.status !== 'lapsed') return { reason: 'lapsed', description: `it lapsed meanwhile (on ${now.lapsedOn ?? '?'})` };
  if (now.status !== before.status) return { reason: 'renewed', description: `it was ${now.status === 'active' ? 'reactivated' : now.status} meanwhile` };
  if (now.pendingInvoice !== before.pendingInvoice) {
    return { reason: 'renewed', description: now.pendingInvoice ? `invoice ${now.pendingInvoice} became pending for it meanwhile` : `its pending invoice ${before.pendingInvoice ?? ''} was settled meanwhile` };
  }
  return null;
}

export interface PaymentGrant {
  ok: true;
  outcome: Extract<ActionOutcome, 'renewed' | 'reactivated'>;
  newAnniversary: IsoDate;
  /** The lapse this payment undoes: the invoice was paid inside the window, confirmed after the lapse job ran. */
  undoesLapseOf?: IsoDate;
  /** A reactivation invoice issued since the lapse, no longer needed: to be voided with the payment. */
  voidsInvoice?: string;
}

/** The sentence that says a cycle's window and lapse day, for every R5 refusal of a payment. */
function describeWindow(subscriptionId: string, anniversaryOn: IsoDate): string {
  const { windowOpens, windowCloses, lapsesOn } = findCycleDates(anniversaryOn);
  return `the renewal window of anniversary ${anniversaryOn} ran from ${windowOpens} to ${windowCloses} (the last day to pay); ${subscriptionId} lapsed on ${lapsesOn}`;
}

/** An invoice that is not pending: R5 when a lapse voided it, R11 when a cancellation did, R12 otherwise. */
function refuseSettled(subscription: Subscription, invoice: InvoiceFacts): Refusal {
  if (invoice.status === 'void' && invoice.failureReason === voidReasons.lapsed) {
    return refuse('R5', `invoice ${invoice.number} was voided when ${subscription.id} lapsed on ${findCycleDates(invoice.anniversaryOn).lapsesOn}, unpaid: ${describeWindow(subscription.id, invoice.anniversaryOn)}`);
  }
  if (invoice.status === 'void' && invoice.failureReason === voidReasons.cancelled) {
    const ended = checkNotEnded(subscription);
    return refuse('R11', `invoice ${invoice.number} was voided by the cancellation${ended ? `: ${ended.reason}` : ''}`);
  }
  return refuse('R12', `invoice ${invoice.number} is ${invoice.status}${invoice.failureReason ? ` (${invoice.failureReason})` : ''}, not pending`);
}

function isVoidedByLapse(invoice: InvoiceFacts): boolean {
  return invoice.status === 'void' && invoice.failureReason === voidReasons.lapsed;
}

/**
 * R5 judged by the payment's day: a renewal invoice the lapse job voided was still payable until
 * A + 30. Paid by then (the money arrived in time, its confirmation did not), the renewal takes
 * effect and undoes the lapse; paid later, it is refused as before.
 */
function checkPaymentAfterLapse(subscription: Subscription, invoice: InvoiceFacts, asOf: IsoDate): PaymentGrant | Refusal {
  const { windowCloses, lapsesOn } = findCycleDates(invoice.anniversaryOn);
  if (asOf > windowCloses) return refuseSettled(subscription, invoice);
  if (asOf < invoice.issuedOn) {
    return refuse('R12', `invoice ${invoice.number} was issued on ${invoice.issuedOn}: a payment cannot arrive before it, on ${asOf}`);
  }
  if (subscription.anniversaryOn !== invoice.anniversaryOn || subscription.status !== 'lapsed') {
    const now = subscription.status === 'cancelled' ? 'cancelled' : subscription.anniversaryOn !== invoice.anniversaryOn ? `in cycle ${subscription.anniversaryOn}` : subscription.status;
    return refuse('R6', `invoice ${invoice.number} renews cycle ${invoice.anniversaryOn}, which lapsed on ${lapsesOn}; ${subscription.id} is now ${now}`);
  }
  // Only a reactivation can be pending after a lapse; the renewal paid in time makes it moot.
  const voidsInvoice = subscription.pendingInvoice ? { voidsInvoice: subscription.pendingInvoice } : {};
  return { ok: true, outcome: 'renewed', newAnniversary: invoice.renewsTo, undoesLapseOf: subscription.lapsedOn ?? lapsesOn, ...voidsInvoice };
}

/**
 * R5, R7, R14: may a payment received on `asOf` settle this invoice? Judged by the date alone,
 * never by whether the lapse job has run: a renewal paid after A + 30 is refused, one paid by then
 * renews even after the lapse voided its invoice, and a reactivation counts only until its
 * exception's deadline.
 */
export function checkPaymentConfirmation(subscription: Subscription, partner: Partner, invoice: InvoiceFacts, asOf: IsoDate): PaymentGrant | Refusal {
  if (isVoidedByLapse(invoice) && invoice.purpose !== 'reactivation') return checkPaymentAfterLapse(subscription, invoice, asOf);
  if (invoice.status !== 'pending') return refuseSettled(subscription, invoice);
  if (subscription.anniversaryOn !== invoice.anniversaryOn) {
    return refuse('R6', `invoice ${invoice.number} renews cycle ${invoice.anniversaryOn}, but ${subscription.id} is now in cycle ${subscription.anniversaryOn}`);
  }
  const ended = checkNotEnded(subscription);
  if (ended) return ended;
  if (asOf < invoice.issuedOn) {
    return refuse('R12', `invoice ${invoice.number} was issued on ${invoice.issuedOn}: a payment cannot arrive before it, on ${asOf}`);
  }
  if (invoice.purpose === 'reactivation') {
    const reactivation = checkReactivation(subscription, partner, asOf);
    if (!reactivation.ok) return { ...reactivation, reason: `invoice ${invoice.number} cannot count on ${asOf}: ${reactivation.reason}` };
    return { ok: true, outcome: 'reactivated', newAnniversary: invoice.renewsTo };
  }
  const { windowCloses } = findCycleDates(invoice.anniversaryOn);
  if (subscription.status === 'lapsed' || asOf > windowCloses) {
    return refuse('R5', `invoice ${invoice.number} paid on ${asOf} is too late: ${describeWindow(subscription.id, invoice.anniversaryOn)}`);
  }
  return { ok: true, outcome: 'renewed', newAnniversary: invoice.renewsTo };
}
