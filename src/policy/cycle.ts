import { addDays, addYears, type IsoDate } from './dates.js';
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
 * The status on day `asOf`. A lapse not yet processed still shows as lapsed from A + 31 (R5);
 * a cancellation takes effect after A (R11: benefits end at A).
 */
export function findStatusOn(subscription: Subscription, asOf: IsoDate): DisplayStatus {
  const { anniversaryOn: a } = subscription;
  if (subscription.status === 'lapsed') return 'lapsed';
  if (subscription.status === 'cancelled') {
    // Cancelled inside the window: from that day; otherwise from A + 1.
    const cancelledFrom = subscription.cancelledOn !== null && subscription.cancelledOn > a ? subscription.cancelledOn : addDays(a, 1);
    if (asOf >= cancelledFrom) return 'cancelled';
  }
  const { windowOpens, windowCloses } = findCycleDates(a);
  if (asOf > windowCloses) return 'lapsed';
  if (asOf >= windowOpens) return 'renewal-window';
  return 'active';
}
