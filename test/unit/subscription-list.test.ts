import { setImmediate as nextMacrotask } from 'node:timers';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.js';
import type { SubscriptionRow } from '../../src/store/rows.js';
import { findCancelTicket, listSubscriptionPage, type SubscriptionFilter } from '../../src/store/subscription-list.js';

const statuses = ['active', 'active', 'lapsed', 'active', 'cancelled'] as const;
const offers = ['action_pack', 'competency', 'competency'] as const;

let store: Store;
let all: SubscriptionRow[];
beforeEach(async () => {
  store = openStore(':memory:');
  for (let i = 0; i < 40; i++) {
    const id = `S-${String(i).padStart(2, '0')}`;
    const status = statuses[i % statuses.length]!;
    await store.run(sql`INSERT INTO subscriptions (id, partner_id, offer, purchased_on, imported_anniversary_on, anniversary_on,
        is_auto_renew, is_requirements_met, status, cancel_ticket, created_at, updated_at)
      VALUES (${id}, ${`P-${i % 4}`}, ${offers[i % offers.length]!}, '2018-10-01', '2019-10-01', ${`2019-10-${String((i % 28) + 1).padStart(2, '0')}`},
        0, 1, ${status}, ${status === 'cancelled' ? `SR-${i}` : null}, '2019-01-01T00:00:00Z', '2019-01-01T00:00:00Z')`);
  }
  all = await store.all<SubscriptionRow>(sql`SELECT * FROM subscriptions ORDER BY id`);
});
afterEach(() => store.close());

function expected(filter: SubscriptionFilter, limit: number): string[] {
  return all
    .filter((r) => (filter.status === undefined || r.status === filter.status) && (filter.offer === undefined || r.offer === filter.offer))
    .filter((r) => (filter.partner === undefined || r.partner_id === filter.partner) && (filter.after === undefined || r.id > filter.after))
    .filter((r) => (filter.anniversaryFrom === undefined || r.anniversary_on >= filter.anniversaryFrom) && (filter.anniversaryTo === undefined || r.anniversary_on <= filter.anniversaryTo))
    .slice(0, limit)
    .map((r) => r.id);
}

describe('subscription pages', () => {
  const filters: SubscriptionFilter[] = [
    {},
    { status: 'cancelled' },
    { status: 'lapsed', offer: 'competency' },
    { offer: 'action_pack', after: 'S-17' },
    { status: 'active', after: 'S-05' },
    { partner: 'P-1', status: 'active' },
    { anniversaryFrom: '2019-10-05', anniversaryTo: '2019-10-09', offer: 'competency' },
    { status: 'cancelled', after: 'S-39' },
    { anniversaryTo: '2019-10-03', status: 'active' },
    { anniversaryFrom: '2019-10-20' },
  ];
  it.each(filters.flatMap((filter) => [1, 3, 7, 100].map((chunkRows) => [filter, chunkRows] as const)))('%j in chunks of %i rows: the same rows in id order', async (filter, chunkRows) => {
    for (const limit of [1, 4, 50]) {
      expect((await listSubscriptionPage(store, filter, limit, chunkRows)).map((r) => r.id)).toEqual(expected(filter, limit));
    }
  });

  it('a status filter on SQLite lets other work run between chunks; one chunk holds the thread until it answers', async () => {
    const runsBefore = async (chunkRows: number) => {
      let hasRun = false;
      nextMacrotask(() => (hasRun = true));
      const rows = await listSubscriptionPage(store, { status: 'cancelled', after: 'S-00' }, 100, chunkRows);
      expect(rows.map((r) => r.id)).toEqual(expected({ status: 'cancelled', after: 'S-00' }, 100));
      return hasRun;
    };
    expect(await runsBefore(100)).toBe(false);
    expect(await runsBefore(5)).toBe(true);
  });

  it('finds the ticket a cancellation quoted', async () => {
    expect(await findCancelTicket(store, 'S-04')).toBe('SR-4');
    expect(await findCancelTicket(store, 'S-03')).toBeNull();
    expect(await findCancelTicket(store, 'nobody')).toBeNull();
  });
});
