import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { findFee } from '../billing/prices.js';
import { addDays, daysBetween } from '../policy/dates.js';
import { planCycle } from '../policy/plan.js';
import { lifecycleActions, type LifecycleAction } from '../policy/types.js';
import type { Executor } from '../store/executor.js';
import { readDuePage } from '../store/queries.js';
import { toSubscription } from '../store/rows.js';

export const forecastDays = 90;
/** Rows read between two yields to the event loop, as the plan reads them. */
const chunkRows = 200;

export interface ForecastDay {
  date: string;
  actions: Record<LifecycleAction, number>;
  /** Auto-renew charges planned this day, in minor units per currency. */
  revenueMinor: Record<string, number>;
}

export interface ForecastWeek {
  /** The week's first day (weeks count from `from`). */
  from: string;
  renewals: number;
  lapses: number;
}

export interface Forecast {
  from: string;
  to: string;
  note: string;
  days: ForecastDay[];
  weeks: ForecastWeek[];
  /** Subscriptions read to build it: what it cost. */
  subscriptions: number;
  computedAt: string;
}

const emptyActions = () => Object.fromEntries(lifecycleActions.map((action) => [action, 0])) as Record<LifecycleAction, number>;

/**
 * The next `days` days of the plan (`GET /api/plan`: the same policy, `planCycle`, on the same
 * rows, read the same way) summed up: actions per day by kind, renewals and lapses per week,
 * expected auto-renew revenue. A lapse planned after an auto-renew of the same cycle is not
 * counted as a lapse: the forecast expects the charge to succeed.
 */
export async function buildForecast(store: Executor, from: string, days = forecastDays, now = new Date()): Promise<Forecast> {
  const to = addDays(from, days - 1);
  const byDay = new Map<string, ForecastDay>();
  for (let i = 0; i < days; i += 1) {
    const date = addDays(from, i);
    byDay.set(date, { date, actions: emptyActions(), revenueMinor: {} });
  }
  const weeks: ForecastWeek[] = [];
  for (let i = 0; i < days; i += 7) weeks.push({ from: addDays(from, i), renewals: 0, lapses: 0 });
  let after: { nextDueOn: string; id: string } | null = null;
  let read = 0;
  for (;;) {
    const rows = await readDuePage(store, to, after, chunkRows);
    for (const row of rows) {
      read += 1;
      const subscription = toSubscription(row);
      let renews = false;
      for (const { date, action } of planCycle(subscription, from, to)) {
        const day = byDay.get(date)!;
        const week = weeks[Math.floor(daysBetween(from, date) / 7)]!;
        if (action === 'auto-renew') {
          renews = true;
          week.renewals += 1;
          const fee = findFee(subscription);
          day.revenueMinor[fee.currency] = (day.revenueMinor[fee.currency] ?? 0) + fee.amountMinor;
        }
        if (action === 'lapse' && !renews) week.lapses += 1;
        if ((action === 'lapse' || action === 'remind-after') && renews) continue;
        day.actions[action] += 1;
      }
    }
    if (rows.length < chunkRows) break;
    const last = rows[rows.length - 1]!;
    after = { nextDueOn: last.next_due_on!, id: last.id };
    await yieldToEventLoop();
  }
  return {
    from,
    to,
    note: 'the plan of GET /api/plan summed up; auto-renew charges are expected to succeed, so what the plan lists after one (reminder after, lapse) is not counted',
    days: [...byDay.values()],
    weeks,
    subscriptions: read,
    computedAt: now.toISOString(),
  };
}
