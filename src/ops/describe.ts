import { NotFoundError } from '../errors.js';
import { findCycleDates, findStatusOn } from '../policy/cycle.js';
import { findDueActions, findNextDueOn } from '../policy/due.js';
import { findExceptions } from '../policy/exceptions.js';
import type { Store } from '../store/db.js';
import { readHistory } from '../store/history.js';
import { findPartner, findSubscription } from '../store/queries.js';

export type SubscriptionDescription = ReturnType<typeof describeSubscription>;

/** One subscription as of a day: status, cycle dates, exceptions and its whole history (`show`, the admin API). */
export function describeSubscription(store: Store, id: string, asOf: string) {
  const subscription = findSubscription(store, id);
  if (!subscription) throw new NotFoundError(`no subscription "${id}" (ids are those given at import)`);
  const partner = findPartner(store, subscription.partnerId);
  const dates = findCycleDates(subscription.anniversaryOn);
  const history = readHistory(store, id);
  return {
    id: subscription.id,
    asOf,
    partner: partner ? { id: partner.id, name: partner.name, locale: partner.locale } : { id: subscription.partnerId, name: null },
    offer: subscription.offer,
    competency: subscription.competency,
    purchasedOn: subscription.purchasedOn,
    status: findStatusOn(subscription, asOf),
    anniversary: subscription.anniversaryOn,
    remindBeforeOn: dates.remindBeforeOn,
    windowOpens: dates.windowOpens,
    remindAfterOn: dates.remindAfterOn,
    windowCloses: dates.windowCloses,
    lapsesOn: dates.lapsesOn,
    autoRenew: subscription.isAutoRenew,
    requirementsMet: subscription.isRequirementsMet,
    paymentMethod: subscription.payment?.method ?? null,
    cancelledOn: subscription.cancelledOn,
    lapsedOn: subscription.lapsedOn,
    pendingInvoice: subscription.pendingInvoice,
    dueOnAsOf: findDueActions(subscription, asOf),
    nextDueOn: findNextDueOn(subscription),
    exceptions: partner ? findExceptions(subscription, partner) : [],
    ...history,
  };
}
