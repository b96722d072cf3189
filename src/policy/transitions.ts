import type { IsoDate } from './dates.js';
import { actionBits } from './due.js';
import type { LifecycleAction, Subscription } from './types.js';

/**
 * The state changes the rules make, as pure functions: each returns a new subscription and
 * leaves its argument untouched. They decide nothing (the checks in due.ts, renewal.ts and
 * payment.ts do): a caller applies the one its check granted, then stores the result, which
 * derives `next_due_on` from it (store `saveLifecycleState` → `findNextDueOn`).
 *
 * Invariant kept by all of them: within one anniversary `doneMask` only grows; only a new
 * anniversary (applyRenewal) clears it.
 */

/**
 * `action` is taken, or recorded as skipped, for the current anniversary: its bit is set in
 * `doneMask`. Nothing else changes; marking an action already done returns an equal state.
 */
export function markDone(subscription: Subscription, action: LifecycleAction): Subscription {
  return { ...subscription, doneMask: subscription.doneMask | actionBits[action] };
}

/** markDone for each of `actions` (a scan's missed actions, a plan's day): one new state, in one step. */
export function markAllDone(subscription: Subscription, actions: readonly LifecycleAction[]): Subscription {
  let doneMask = subscription.doneMask;
  for (const action of actions) doneMask |= actionBits[action];
  return { ...subscription, doneMask };
}

/**
 * R5: not renewed by A + 30. Status `lapsed` from `lapsedOn` (the lapse job passes A + 31,
 * `findCycleDates(a).lapsesOn`), the lapse marked done. A pending invoice no longer renews anything
 * and is dropped, except a reactivation's (`keepsPendingInvoice`), payable until its exception's
 * deadline (R14). Voiding the dropped invoice is the caller's effect.
 */
export function applyLapse(subscription: Subscription, lapsedOn: IsoDate, options: { keepsPendingInvoice: boolean }): Subscription {
  return {
    ...markDone(subscription, 'lapse'),
    status: 'lapsed',
    lapsedOn,
    pendingInvoice: options.keepsPendingInvoice ? subscription.pendingInvoice : null,
  };
}

/**
 * R6, R7, R14: a paid renewal or reactivation, automatic or by an operator. The next cycle starts
 * at `newAnniversary` (the invoice's `renews_to`): active, nothing done yet, nothing pending, not
 * lapsed. `cancelledOn` is kept (a cancelled subscription is never renewed: checkNotEnded refuses).
 */
export function applyRenewal(subscription: Subscription, newAnniversary: IsoDate): Subscription {
  return { ...subscription, status: 'active', anniversaryOn: newAnniversary, doneMask: 0, pendingInvoice: null, lapsedOn: null };
}

/**
 * R14: a paid reactivation of a lapsed subscription. The same new state as applyRenewal (the next
 * cycle starts at `newAnniversary`), named for callers that know which one they apply.
 */
export function applyReactivation(subscription: Subscription, newAnniversary: IsoDate): Subscription {
  return applyRenewal(subscription, newAnniversary);
}

/**
 * R11: cancelled on `cancelledOn` from a support request. Nothing is pending any more (the caller
 * voids the invoice); `doneMask` and the anniversary are kept, so the ledger still reads the cycle.
 * A cancelled subscription has nothing due (findNextDueOn → null).
 */
export function applyCancellation(subscription: Subscription, cancelledOn: IsoDate): Subscription {
  return { ...subscription, status: 'cancelled', cancelledOn, pendingInvoice: null };
}

/**
 * R7: a renewal (or reactivation) waits for the payment of invoice `invoiceNumber` (bank transfer,
 * manual gateway). The cycle does not change: R3–R5 still run meanwhile. An auto-renew also marks
 * itself done: `awaitPayment(markDone(subscription, 'auto-renew'), number)`.
 */
export function awaitPayment(subscription: Subscription, invoiceNumber: string): Subscription {
  return { ...subscription, pendingInvoice: invoiceNumber };
}
