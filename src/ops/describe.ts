import { NotFoundError } from '../errors.js';
import { findCycleDates } from '../policy/cycle.js';
import { findDueActions, findNextDueOn } from '../policy/due.js';
import { findExceptions } from '../policy/exceptions.js';
import type { InvoiceFacts } from '../policy/payment.js';
import { findStanding } from '../policy/standing.js';
import type { Executor } from '../store/executor.js';
import { readHistory } from '../store/history.js';
import { findPartner, findSubscription } from '../store/queries.js';
import { findCancelTicket } from '../store/subscription-list.js';

export type SubscriptionDescription = Awaited<ReturnType<typeof describeSubscription>>;

/**
 * One subscription as of a day: status, cycle dates, exceptions and its whole history (`show`,
 * the admin API). A cancelled subscription never reaches its reminders, window or lapse (R11):
 * those dates are null, and `benefitsEndOn` says when its benefits end.
 */
export async function describeSubscription(ex: Executor, id: string, asOf: string) {
  const subscription = await findSubscription(ex, id);
  if (!subscription) throw new NotFoundError(`no subscription "${id}" (ids are those given at import)`);
  const partner = await findPartner(ex, subscription.partnerId);
  const history = await readHistory(ex, id);
  const pending = history.invoices.find((invoice) => invoice.number === subscription.pendingInvoice);
  const standing = findStanding(subscription, partner, asOf, (pending?.purpose as InvoiceFacts['purpose'] | undefined) ?? null);
  const isCancelled = subscription.status === 'cancelled';
  const dates = findCycleDates(subscription.anniversaryOn);
  const cancelTicket = isCancelled ? await findCancelTicket(ex, id) : null;
  return {
    id: subscription.id,
    asOf,
    partner: partner ? { id: partner.id, name: partner.name, locale: partner.locale } : { id: subscription.partnerId, name: null },
    offer: subscription.offer,
    competency: subscription.competency,
    purchasedOn: subscription.purchasedOn,
    status: standing.status,
    summary: standing.summary,
    anniversary: subscription.anniversaryOn,
    remindBeforeOn: isCancelled ? null : dates.remindBeforeOn,
    windowOpens: isCancelled ? null : dates.windowOpens,
    remindAfterOn: isCancelled ? null : dates.remindAfterOn,
    windowCloses: isCancelled ? null : dates.windowCloses,
    lapsesOn: isCancelled ? null : dates.lapsesOn,
    benefitsEndOn: standing.benefitsEndOn,
    autoRenew: subscription.isAutoRenew,
    requirementsMet: subscription.isRequirementsMet,
    paymentMethod: subscription.payment?.method ?? null,
    cancelledOn: subscription.cancelledOn,
    cancelTicket,
    lapsedOn: subscription.lapsedOn,
    pendingInvoice: subscription.pendingInvoice,
    payBy: standing.payBy,
    dueOnAsOf: findDueActions(subscription, asOf),
    nextDueOn: findNextDueOn(subscription),
    exceptions: partner ? findExceptions(subscription, partner) : [],
    ...history,
  };
}
