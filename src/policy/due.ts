import { addDays, type IsoDate } from './dates.js';
import { remindAfterDays, remindBeforeDays, windowDays } from './cycle.js';
import { lifecycleActions, type LifecycleAction, type Subscription } from './types.js';

/** Each action's bit in `Subscription.doneMask`. */
export const actionBits: Readonly<Record<LifecycleAction, number>> = {
  'remind-before': 1,
  'auto-renew': 2,
  'remind-after': 4,
  lapse: 8,
};

/**
 * SPEC §1 "What is due on a day": the range of days, as offsets from A, on which an action may
 * run. The ranges let a daemon that was down catch up late but in order, and never send what is
 * no longer true (no "15 days before" after the anniversary).
 */
const dueRanges: Readonly<Record<LifecycleAction, { from: number; to: number }>> = {
  'remind-before': { from: -remindBeforeDays, to: -1 },
  'auto-renew': { from: 0, to: windowDays },
  'remind-after': { from: remindAfterDays, to: windowDays },
  lapse: { from: windowDays + 1, to: Number.POSITIVE_INFINITY },
};

export interface DueAction {
  subscription: string;
  action: LifecycleAction;
  anniversary: IsoDate;
}

export function isDone(subscription: Subscription, action: LifecycleAction): boolean {
  return (subscription.doneMask & actionBits[action]) !== 0;
}

/**
 * R7: only an Action Pack with auto-renew on renews itself, and not a cycle whose renewal already
 * waits for its payment (an operator's, made while the auto-renew had not run): one invoice per
 * cycle. R9: competencies never do.
 */
function isApplicable(subscription: Subscription, action: LifecycleAction): boolean {
  if (subscription.status !== 'active') return false;
  if (action === 'auto-renew') return subscription.offer === 'action_pack' && subscription.isAutoRenew && subscription.pendingInvoice === null;
  return true;
}

function offsetOf(subscription: Subscription, asOf: IsoDate): number {
  return (Date.parse(asOf) - Date.parse(subscription.anniversaryOn)) / 86_400_000;
}

function listPending(subscription: Subscription): LifecycleAction[] {
  return lifecycleActions.filter((action) => isApplicable(subscription, action) && !isDone(subscription, action));
}

/** The actions due on `asOf`, in cycle order, leaving out those already done for this anniversary. */
export function findDueActions(subscription: Subscription, asOf: IsoDate): LifecycleAction[] {
  const offset = offsetOf(subscription, asOf);
  return listPending(subscription).filter((action) => {
    const range = dueRanges[action];
    return offset >= range.from && offset <= range.to;
  });
}

/** Actions whose range ended before `asOf` without being taken (the daemon was down): recorded as skipped. */
export function findMissedActions(subscription: Subscription, asOf: IsoDate): LifecycleAction[] {
  const offset = offsetOf(subscription, asOf);
  return listPending(subscription).filter((action) => offset > dueRanges[action].to);
}

/** True when `action` may still run on `asOf` (a job re-checks this when it runs, not only when enqueued). */
export function isDueOn(subscription: Subscription, action: LifecycleAction, asOf: IsoDate): boolean {
  return findDueActions(subscription, asOf).includes(action);
}

/**
 * The first day on which something is pending for this subscription, or null when nothing ever
 * will be. Stored and indexed, so that a scan reads what is due, not the whole table.
 */
export function findNextDueOn(subscription: Subscription): IsoDate | null {
  const pending = listPending(subscription);
  if (pending.length === 0) return null;
  const from = Math.min(...pending.map((action) => dueRanges[action].from));
  return addDays(subscription.anniversaryOn, from);
}
