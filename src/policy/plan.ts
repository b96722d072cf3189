import { addDays, maxDate, type IsoDate } from './dates.js';
import { findDueActions, findMissedActions, findNextDueOn } from './due.js';
import { applyLapse, markAllDone } from './transitions.js';
import type { LifecycleAction, Subscription } from './types.js';

export interface PlannedAction {
  date: IsoDate;
  action: LifecycleAction;
}

/**
 * The days in `from … to` on which the policy would take each pending action of the current
 * cycle, simulated without effects. Renewals are not predicted: an auto-renew is listed on its
 * day and what follows it (reminder after, lapse) is listed as if it did not renew. Actions whose
 * range ended before `from` are left out (a scan records them as skipped:missed).
 */
export function planCycle(subscription: Subscription, from: IsoDate, to: IsoDate): PlannedAction[] {
  const planned: PlannedAction[] = [];
  let state = subscription;
  let day = from;
  for (;;) {
    const next = findNextDueOn(state);
    if (next === null) return planned;
    day = maxDate(day, next);
    if (day > to) return planned;
    const due = findDueActions(state, day);
    const taken = [...findMissedActions(state, day), ...due];
    for (const action of due) planned.push({ date: day, action });
    const done = markAllDone(state, taken);
    state = due.includes('lapse') ? applyLapse(done, day, { keepsPendingInvoice: false }) : done;
    // Nothing taken means nothing changes on this day: look at the next one.
    if (taken.length === 0) day = addDays(day, 1);
  }
}
