import type { Contact, Partner, Subscription } from '../policy/types.js';
import type { Store } from './db.js';
import { toPartner, toSubscription, type PartnerRow, type SubscriptionRow } from './rows.js';

export function findSubscription(store: Store, id: string): Subscription | null {
  const row = store.sqlite.prepare('SELECT * FROM subscriptions WHERE id = ?').get(id) as SubscriptionRow | undefined;
  return row ? toSubscription(row) : null;
}

export function findPartner(store: Store, id: string): Partner | null {
  const row = store.sqlite.prepare('SELECT * FROM partners WHERE id = ?').get(id) as PartnerRow | undefined;
  if (!row) return null;
  const contacts = store.sqlite
    .prepare('SELECT name, email, role FROM contacts WHERE partner_id = ? ORDER BY id')
    .all(id) as Contact[];
  return toPartner(row, contacts);
}

/**
 * One keyset page of subscriptions with something pending on or before `asOf`, in
 * (next_due_on, id) order, read through the partial index: a scan costs what is due.
 */
export function readDuePage(
  store: Store,
  asOf: string,
  after: { nextDueOn: string; id: string } | null,
  limit: number,
): SubscriptionRow[] {
  if (!after) {
    return store.sqlite
      .prepare('SELECT * FROM subscriptions WHERE next_due_on IS NOT NULL AND next_due_on <= ? ORDER BY next_due_on, id LIMIT ?')
      .all(asOf, limit) as SubscriptionRow[];
  }
  return store.sqlite
    .prepare(
      `SELECT * FROM subscriptions
       WHERE next_due_on IS NOT NULL AND next_due_on <= ? AND (next_due_on, id) > (?, ?)
       ORDER BY next_due_on, id LIMIT ?`,
    )
    .all(asOf, after.nextDueOn, after.id, limit) as SubscriptionRow[];
}

/**
 * Yields every subscription with something pending on or before `asOf`, a page at a time. Pages
 * of 1,000 rows: pages of 5,000 outlive V8's young generation and pile up in the old one until a
 * full collection (a scan enqueuing 57,000 jobs peaked 40 MB higher, at no gain in speed).
 */
export function* iterateDue(store: Store, asOf: string, pageSize = 1_000): Generator<SubscriptionRow> {
  let after: { nextDueOn: string; id: string } | null = null;
  for (;;) {
    const page = readDuePage(store, asOf, after, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    const last = page[page.length - 1]!;
    after = { nextDueOn: last.next_due_on!, id: last.id };
  }
}
