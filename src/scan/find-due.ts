import { findDueActions, findMissedActions } from '../policy/due.js';
import type { LifecycleAction, Subscription } from '../policy/types.js';
import type { Executor } from '../store/executor.js';
import { iterateDue } from '../store/queries.js';
import { toSubscription } from '../store/rows.js';

export interface SubscriptionDue {
  subscription: Subscription;
  /** Due on the day, in cycle order. */
  due: LifecycleAction[];
  /** Whose range ended unrun (the daemon was down): a real scan records them as skipped. */
  missed: LifecycleAction[];
}

/** SPEC §1 "What is due on a day", read through the `next_due_on` index: costs what is due. */
export async function* findDue(ex: Executor, asOf: string): AsyncGenerator<SubscriptionDue> {
  for await (const row of iterateDue(ex, asOf)) {
    const subscription = toSubscription(row);
    const due = findDueActions(subscription, asOf);
    const missed = findMissedActions(subscription, asOf);
    if (due.length > 0 || missed.length > 0) yield { subscription, due, missed };
  }
}
