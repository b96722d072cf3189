import { addDays, addYears, type IsoDate } from './dates.js';
import { checkLine, textLimits } from './limits.js';
import { findBenefitsEndOn, findCycleDates, manualRenewalDays } from './cycle.js';
import { findExceptions, type AppliedException } from './exceptions.js';
import type { RenewalFailureReason } from './outcomes.js';
import type { BillTo, Partner, Subscription } from './types.js';

export interface Refusal {
  ok: false;
  /** The rule that refuses, e.g. "R6". */
  rule: string;
  /** Says which rule and which dates, for an operator. */
  reason: string;
}

export interface RenewalGrant {
  ok: true;
  newAnniversary: IsoDate;
  /** The exception that waived the requirements (R14), if one did. */
  waivedBy: string | null;
}

export function refuse(rule: string, reason: string): Refusal {
  return { ok: false, rule, reason };
}

function findWaiver(subscription: Subscription, partner: Partner): AppliedException | undefined {
  return findExceptions(subscription, partner).find((e) => e.isEligible && e.requirementsWaivedUntil !== null);
}

/** R9: a competency renews only with its requirements met, unless an exception waives them. */
function checkRequirements(subscription: Subscription, partner: Partner): Refusal | { waivedBy: string | null } {
  if (subscription.offer !== 'competency' || subscription.isRequirementsMet) return { waivedBy: null };
  const waiver = findWaiver(subscription, partner);
  if (waiver) return { waivedBy: waiver.id };
  const { area, level } = subscription.competency ?? { area: '?', level: '?' };
  const notMigrated = findExceptions(subscription, partner).find((e) => !e.isEligible);
  const hint = notMigrated
    ? ` (exception ${notMigrated.id}, R14, would waive them once the partner moves to Partner Center)`
    : '';
  return refuse('R9', `the requirements of competency ${area} (${level}) are not met${hint}`);
}

/** R11: a cancelled subscription is never renewed or reactivated; the refusal states the day its benefits end. */
export function checkNotEnded(subscription: Subscription): Refusal | null {
  if (subscription.status !== 'cancelled') return null;
  const cancelledOn = subscription.cancelledOn ?? subscription.anniversaryOn;
  return refuse('R11', `subscription ${subscription.id} was cancelled on ${cancelledOn}; its benefits end on ${findBenefitsEndOn(subscription.anniversaryOn, cancelledOn)}`);
}

/** R6: a manual renewal only inside the window A+1 … A+30; the new anniversary is A + 365 days. */
export function checkManualRenewal(subscription: Subscription, partner: Partner, asOf: IsoDate): RenewalGrant | Refusal {
  const ended = checkNotEnded(subscription);
  if (ended) return ended;
  const dates = findCycleDates(subscription.anniversaryOn);
  if (subscription.status === 'lapsed' || asOf > dates.windowCloses) {
    const lapsedOn = subscription.lapsedOn ?? dates.lapsesOn;
    const reactivation = checkReactivation(subscription, partner, asOf);
    const hint = reactivation.ok ? '; it can be reactivated (lifecycle reactivate)' : '';
    return refuse('R6', `lapsed on ${lapsedOn}: the renewal window ran from ${dates.windowOpens} to ${dates.windowCloses}${hint}`);
  }
  if (asOf < dates.windowOpens) {
    return refuse('R6', `not yet eligible on ${asOf}: the renewal window opens on ${dates.windowOpens} and closes on ${dates.windowCloses}`);
  }
  if (subscription.pendingInvoice) {
    return refuse('R7', `a renewal is already waiting for payment of invoice ${subscription.pendingInvoice} (lifecycle payments confirm ${subscription.pendingInvoice})`);
  }
  const requirements = checkRequirements(subscription, partner);
  if ('ok' in requirements) return requirements;
  return { ok: true, newAnniversary: addDays(subscription.anniversaryOn, manualRenewalDays), waivedBy: requirements.waivedBy };
}

/** R14: a lapsed subscription comes back only through an exception that allows it, until its deadline. */
export function checkReactivation(subscription: Subscription, partner: Partner, asOf: IsoDate): RenewalGrant | Refusal {
  const ended = checkNotEnded(subscription);
  if (ended) return ended;
  const dates = findCycleDates(subscription.anniversaryOn);
  const isLapsed = subscription.status === 'lapsed' || asOf > dates.windowCloses;
  if (!isLapsed) {
    return refuse('R6', `not lapsed: renew it instead inside the window ${dates.windowOpens} … ${dates.windowCloses}`);
  }
  const exceptions = findExceptions(subscription, partner).filter((e) => e.reactivationDeadline !== null);
  if (exceptions.length === 0) {
    return refuse('R5', `lapsed on ${subscription.lapsedOn ?? dates.lapsesOn} and no exception allows reactivation of a cycle with anniversary ${subscription.anniversaryOn}`);
  }
  const eligible = exceptions.find((e) => e.isEligible);
  if (!eligible) {
    return refuse('R14', `exception ${exceptions[0]!.id} needs the partner's membership moved to Partner Center; partner ${partner.id} has not moved yet`);
  }
  if (asOf > eligible.reactivationDeadline!) {
    return refuse('R14', `exception ${eligible.id} allowed reactivation until ${eligible.reactivationDeadline}; it is ${asOf}`);
  }
  return { ok: true, newAnniversary: addDays(subscription.anniversaryOn, manualRenewalDays), waivedBy: eligible.id };
}

/**
 * R14 as an operator asks for it: checkReactivation, refused while a reactivation already waits
 * for its payment (R7: one invoice to pay, as for a renewal). A pending renewal invoice does not
 * stand in the way: past A + 30 it can no longer be paid (R5). `pendingPurpose` is the purpose of
 * the pending invoice, null when unknown.
 */
export function checkReactivationRequest(
  subscription: Subscription,
  partner: Partner,
  asOf: IsoDate,
  pendingPurpose: 'auto-renew' | 'renewal' | 'reactivation' | null,
): RenewalGrant | Refusal {
  const grant = checkReactivation(subscription, partner, asOf);
  const invoice = subscription.pendingInvoice;
  if (!grant.ok || !invoice || pendingPurpose === 'auto-renew' || pendingPurpose === 'renewal') return grant;
  return refuse('R7', `a reactivation is already waiting for payment of invoice ${invoice} (lifecycle payments confirm ${invoice})`);
}

/** The failures found before charging (R7, R13); the gateway's are the rest of RenewalFailureReason. */
export type AutoRenewalFailure = Extract<RenewalFailureReason, 'no-payment-method' | 'invalid-address'>;

/**
 * R7 and R13, checked on A before charging: a payment method on file and a valid bill-to address.
 * The new anniversary is the same calendar date next year (Feb 29 → Feb 28), unlike R6.
 */
export function checkAutoRenewal(
  subscription: Subscription,
  partner: Partner,
): { ok: true; newAnniversary: IsoDate } | { ok: false; failure: AutoRenewalFailure; reason: string } {
  if (!subscription.payment) return { ok: false, failure: 'no-payment-method', reason: 'no payment method on file' };
  const problems = validateBillTo(partner.billTo);
  if (problems.length > 0) {
    return { ok: false, failure: 'invalid-address', reason: `update your bill-to address: ${problems.join('; ')}` };
  }
  return { ok: true, newAnniversary: addYears(subscription.anniversaryOn, 1) };
}

/**
 * R11: an operator cancels from a support request; benefits end at A (status cancelled from
 * A + 1), or on the day of a cancellation made inside the window.
 */
export function checkCancellation(
  subscription: Subscription,
  ticket: string,
  asOf: IsoDate,
): { ok: true; benefitsEndOn: IsoDate } | Refusal {
  if (!ticket.trim()) return refuse('R11', 'a cancellation needs the support ticket id (--ticket)');
  const ticketProblem = checkLine(ticket, textLimits.ticket);
  if (ticketProblem) return refuse('R11', `the support ticket id: ${ticketProblem}`);
  if (subscription.status === 'cancelled') {
    return refuse('R11', `already cancelled on ${subscription.cancelledOn ?? '?'}`);
  }
  if (asOf < subscription.purchasedOn) {
    return refuse('R11', `a cancellation cannot be dated ${asOf}, before the purchase on ${subscription.purchasedOn}`);
  }
  const { lapsesOn, windowCloses } = findCycleDates(subscription.anniversaryOn);
  if (subscription.status === 'lapsed' || asOf > windowCloses) {
    return refuse('R5', `nothing to cancel: lapsed on ${subscription.lapsedOn ?? lapsesOn}`);
  }
  return { ok: true, benefitsEndOn: findBenefitsEndOn(subscription.anniversaryOn, asOf) };
}

/** Countries without postal codes (bill-to validation must not demand one). */
const countriesWithoutPostalCode = new Set(['AE', 'AG', 'AO', 'BS', 'BZ', 'CW', 'FJ', 'GH', 'HK', 'IE', 'JM', 'KE', 'MO', 'QA', 'TT', 'UG', 'ZW']);

/** R13: the problems with a bill-to address, empty when it is valid. */
export function validateBillTo(billTo: BillTo | null): string[] {
  if (!billTo) return ['no bill-to address'];
  const problems: string[] = [];
  if (!billTo.line1?.trim()) problems.push('line1 is empty');
  if (!billTo.city?.trim()) problems.push('city is empty');
  if (!/^[A-Z]{2}$/.test(billTo.country ?? '')) problems.push(`country "${billTo.country ?? ''}" is not an ISO 3166 two-letter code`);
  else if (!countriesWithoutPostalCode.has(billTo.country) && !billTo.postalCode?.trim()) problems.push('postal code is empty');
  return problems;
}
