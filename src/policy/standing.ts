import { findBenefitsEndOn, findCycleDates, findStatusOn, type DisplayStatus } from './cycle.js';
import type { IsoDate } from './dates.js';
import { findExceptions } from './exceptions.js';
import type { InvoiceFacts } from './payment.js';
import { checkReactivation } from './renewal.js';
import type { Partner, Subscription } from './types.js';

/** Where a subscription stands on a day, in the words an operator means (`show`, the admin API). */
export interface Standing {
  status: DisplayStatus;
  /** E.g. "lapsed since 2020-04-10", "in its renewal window until 2019-10-01 …". */
  summary: string;
  /** R11: the last day a cancelled subscription has its benefits; null when not cancelled. */
  benefitsEndOn: IsoDate | null;
  /** The last day the pending invoice can be paid (R5, R14); null without one. */
  payBy: IsoDate | null;
}

/** R14: the last day an eligible exception allows a reactivation to be paid, if one does. */
function findReactivationDeadline(subscription: Subscription, partner: Partner | null): IsoDate | null {
  if (!partner) return null;
  return findExceptions(subscription, partner).find((e) => e.isEligible && e.reactivationDeadline !== null)?.reactivationDeadline ?? null;
}

/** R5 / R14: a renewal invoice is payable until A + 30, a reactivation until its exception's deadline. */
function findPayBy(subscription: Subscription, partner: Partner | null, purpose: InvoiceFacts['purpose'] | null): IsoDate | null {
  if (!subscription.pendingInvoice) return null;
  const isReactivation = purpose === null ? subscription.status === 'lapsed' : purpose === 'reactivation';
  return isReactivation ? findReactivationDeadline(subscription, partner) : findCycleDates(subscription.anniversaryOn).windowCloses;
}

function describePending(subscription: Subscription, payBy: IsoDate | null, asOf: IsoDate): string {
  const invoice = subscription.pendingInvoice;
  if (!invoice) return '';
  // Judged by the payment's day (R5, R14): confirmed later, a payment that arrived by then still counts.
  if (payBy && asOf > payBy) return `; invoice ${invoice} counts only if it was paid by ${payBy}`;
  return `; invoice ${invoice} awaits payment${payBy ? `, last day to pay ${payBy}` : ''}`;
}

/**
 * The status on `asOf` and one sentence saying it: "lapsed since …", not "lapsed on <today>".
 * `pendingPurpose` is the purpose of the pending invoice, when known (else inferred from the status).
 */
export function findStanding(
  subscription: Subscription,
  partner: Partner | null,
  asOf: IsoDate,
  pendingPurpose: InvoiceFacts['purpose'] | null = null,
): Standing {
  const status = findStatusOn(subscription, asOf);
  const dates = findCycleDates(subscription.anniversaryOn);
  if (subscription.status === 'cancelled') {
    const cancelledOn = subscription.cancelledOn ?? subscription.anniversaryOn;
    const benefitsEndOn = findBenefitsEndOn(subscription.anniversaryOn, cancelledOn);
    const summary = asOf > benefitsEndOn
      ? `cancelled on ${cancelledOn}; benefits ended on ${benefitsEndOn}`
      : `active, benefits end on ${benefitsEndOn} (cancelled on ${cancelledOn}: no renewal, no reminder)`;
    return { status, summary, benefitsEndOn, payBy: null };
  }
  const payBy = findPayBy(subscription, partner, pendingPurpose);
  if (status === 'lapsed') {
    const lapsedOn = subscription.lapsedOn ?? dates.lapsesOn;
    const notRun = subscription.status === 'lapsed' ? '' : ' (the lapse is not processed yet)';
    const reactivation = partner ? checkReactivation(subscription, partner, asOf) : null;
    const canReactivate = reactivation?.ok && !subscription.pendingInvoice
      ? `; can be reactivated until ${findReactivationDeadline(subscription, partner)} (exception ${reactivation.waivedBy}, lifecycle reactivate)`
      : '';
    return { status, summary: `lapsed since ${lapsedOn}${notRun}${canReactivate}${describePending(subscription, payBy, asOf)}`, benefitsEndOn: null, payBy };
  }
  if (status === 'renewal-window') {
    const summary = `in its renewal window until ${dates.windowCloses} (anniversary ${dates.anniversary}); lapses on ${dates.lapsesOn} unless renewed`;
    return { status, summary: `${summary}${describePending(subscription, payBy, asOf)}`, benefitsEndOn: null, payBy };
  }
  const summary = `active, next anniversary ${dates.anniversary}; renewal window ${dates.windowOpens} … ${dates.windowCloses}`;
  return { status, summary: `${summary}${describePending(subscription, payBy, asOf)}`, benefitsEndOn: null, payBy };
}
