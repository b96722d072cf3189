import { planCycle } from '../policy/plan.js';
import type { LifecycleAction } from '../policy/types.js';
import type { Store } from '../store/db.js';
import { iterateDue } from '../store/queries.js';
import { toSubscription } from '../store/rows.js';

export const maxPlanDays = 400;
/** A day listing more than this many actions lists that many and gives the full count. */
export const maxPlannedPerDay = 1_000;

export interface PlanDay {
  date: string;
  count: number;
  actions: { subscription: string; action: LifecycleAction; anniversary: string }[];
}

export interface Plan {
  from: string;
  to: string;
  note: string;
  total: number;
  days: PlanDay[];
}

/** What will happen on which day, from the current state, read through the `next_due_on` index. */
export function planActions(store: Store, from: string, to: string): Plan {
  const days = new Map<string, PlanDay>();
  let total = 0;
  for (const row of iterateDue(store, to)) {
    const subscription = toSubscription(row);
    for (const { date, action } of planCycle(subscription, from, to)) {
      let day = days.get(date);
      if (!day) days.set(date, (day = { date, count: 0, actions: [] }));
      day.count += 1;
      total += 1;
      if (day.actions.length < maxPlannedPerDay) day.actions.push({ subscription: subscription.id, action, anniversary: subscription.anniversaryOn });
    }
  }
  return {
    from,
    to,
    note: 'simulated from the current state without effects; renewals are not predicted: what follows an auto-renew is listed as if it did not renew',
    total,
    days: [...days.values()].sort((a, b) => (a.date < b.date ? -1 : 1)),
  };
}
