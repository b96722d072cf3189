import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { InputError } from '../errors.js';
import { planCycle } from '../policy/plan.js';
import type { LifecycleAction } from '../policy/types.js';
import type { Executor } from '../store/executor.js';
import { readDuePage } from '../store/queries.js';
import { toSubscription } from '../store/rows.js';

export const maxPlanDays = 400;
/** A page lists at least this many actions when there are that many (a subscription is never split). */
export const defaultPlanLimit = 500;
export const maxPlanLimit = 5_000;
/** Rows read between two yields to the event loop: jobs and health checks go on meanwhile. */
const chunkRows = 200;

export interface PlanDay {
  date: string;
  /** Actions of this day in this page. */
  count: number;
  actions: { subscription: string; action: LifecycleAction; anniversary: string }[];
}

export interface Plan {
  from: string;
  to: string;
  note: string;
  /** Actions in this page. */
  total: number;
  days: PlanDay[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

interface Cursor {
  nextDueOn: string;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.nextDueOn, cursor.id])).toString('base64url');
}

function decodeCursor(value: string): Cursor {
  try {
    const [nextDueOn, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (typeof nextDueOn === 'string' && typeof id === 'string') return { nextDueOn, id };
  } catch {
    // reported below
  }
  throw new InputError(`querystring/after: "${value.slice(0, 40)}" is not a cursor this API returned (pass the previous answer's "next")`);
}

/**
 * One page of what will happen on which day, from the current state: subscriptions in
 * (next_due_on, id) order through the partial index, so a page costs what it lists whatever the
 * table's size, read in small chunks with a yield between them (SQLite answers synchronously).
 */
export async function planActions(ex: Executor, from: string, to: string, options: { limit?: number; after?: string } = {}): Promise<Plan> {
  const limit = options.limit ?? defaultPlanLimit;
  // Rows whose actions all fall outside the range list nothing: bound those too.
  const maxRows = limit * 4 + chunkRows;
  const days = new Map<string, PlanDay>();
  let after: Cursor | null = options.after ? decodeCursor(options.after) : null;
  let total = 0;
  let rowsRead = 0;
  let next: string | null = null;
  for (;;) {
    const rows = await readDuePage(ex, to, after, chunkRows);
    for (const row of rows) {
      rowsRead += 1;
      after = { nextDueOn: row.next_due_on!, id: row.id };
      const subscription = toSubscription(row);
      for (const { date, action } of planCycle(subscription, from, to)) {
        let day = days.get(date);
        if (!day) days.set(date, (day = { date, count: 0, actions: [] }));
        day.count += 1;
        total += 1;
        day.actions.push({ subscription: subscription.id, action, anniversary: subscription.anniversaryOn });
      }
      if (total >= limit || rowsRead >= maxRows) break;
    }
    // Full on the very last row: the next page is empty, with next null.
    if (total >= limit || rowsRead >= maxRows) {
      next = encodeCursor(after!);
      break;
    }
    if (rows.length < chunkRows) break;
    await yieldToEventLoop();
  }
  return {
    from,
    to,
    note: 'simulated from the current state without effects; renewals are not predicted: what follows an auto-renew is listed as if it did not renew',
    total,
    days: [...days.values()].sort((a, b) => (a.date < b.date ? -1 : 1)),
    next,
  };
}
