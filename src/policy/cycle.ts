import { addDays, addYears, maxDate, type IsoDate } from './dates.js';
import type { Subscription } from './types.js';

/** R2–R5 offsets from the anniversary A. */
export const remindBeforeDays = 15;
export const remindAfterDays = 23;
export const windowDays = 30;
/** R6, seed 000: a manual renewal moves A by 365 days, not a calendar year (it can drift across Feb 29). */
export const manualRenewalDays = 365;

/** R1: the first anniversary is the purchase date plus one calendar year (Feb 29 → Feb 28). */
export function findFirstAnniversary(purchasedOn: IsoDate): IsoDate {
  return addYears(purchasedOn, 1);
}

export interface CycleDates {
  anniversary: IsoDate;
  remindBeforeOn: IsoDate;
  windowOpens: IsoDate;
  remindAfterOn: IsoDate;
  windowCloses: IsoDate;
  lapsesOn: IsoDate;
}

export function findCycleDates(anniversary: IsoDate): CycleDates {
  return {
    anniversary,
    remindBeforeOn: addDays(anniversary, -remindBeforeDays),
    windowOpens: addDays(anniversary, 1),
    remindAfterOn: addDays(anniversary, remindAfterDays),
    windowCloses: addDays(anniversary, windowDays),
    lapsesOn: addDays(anniversary, windowDays + 1),
  };
}

export type DisplayStatus = 'active' | 'renewal-window' | 'lapsed' | 'cancelled';

/**
 * R11: the last day a cancelled subscription has its benefits. Benefits end at A; a cancellation
 * made inside the window (after A) ends them that day. Derived, never stored: the one date that
 * `cancel`, `show`, the refusals and the API all state.
 */
export function findBenefitsEndOn(anniversaryOn: IsoDate, cancelledOn: IsoDate): IsoDate {
  return maxDate(anniversaryOn, cancelledOn);
}

/**
 * The status on day `asOf`. A lapse not yet processed still shows as lapsed from A + 31 (R5).
 * A cancelled subscription keeps its benefits (status active, no window: it cannot be renewed)
 * until the day its benefits end, and is cancelled from the day after (R11).
 */
export function findStatusOn(subscription: Subscription, asOf: IsoDate): DisplayStatus {
  const { anniversaryOn: a, cancelledOn } = subscription;
  if (subscription.status === 'lapsed') return 'lapsed';
  // Before the day it was cancelled, a cancelled subscription shows what it was then.
  if (subscription.status === 'cancelled' && (cancelledOn === null || asOf >= cancelledOn)) {
    return asOf > findBenefitsEndOn(a, cancelledOn ?? a) ? 'cancelled' : 'active';
  }
  const { windowOpens, windowCloses } = findCycleDates(a);
  if (asOf > windowCloses) return 'lapsed';
  if (asOf >= windowOpens) return 'renewal-window';
  return 'active';
}
