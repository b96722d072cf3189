import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/executor.js';
import { readSubscriptionPage, type SubscriptionListFilter } from '../../src/store/subscription-list.js';
import { storeBackends, type StorePlace } from '../../support/backends.js';

// The same operation on SQLite and PostgreSQL, each with its migrated schema: the same rows, in
// the same order, page after page.

const rows = [
  ['S-001', 'P-1', 'action_pack', 'active', '2020-01-10', '2019-12-26'],
  ['S-002', 'P-2', 'competency', 'active', '2020-01-05', '2019-12-21'],
  ['S-003', 'P-1', 'action_pack', 'lapsed', '2019-10-01', null],
  ['S-010', 'P-1', 'action_pack', 'cancelled', '2020-03-01', null],
  ['S-011', 'P-3', 'competency', 'active', '2020-01-05', '2019-12-21'],
  ['T-001', 'P-2', 'action_pack', 'active', '2020-06-01', '2020-05-17'],
  ['S-0~', 'P-2', 'action_pack', 'active', '2020-02-01', '2020-01-17'],
] as const;

async function fill(store: Store): Promise<void> {
  for (const [id, partner, offer, status, anniversary, nextDue] of rows) {
    await store.run(sql`INSERT INTO subscriptions (id, partner_id, offer, purchased_on, imported_anniversary_on, anniversary_on, is_auto_renew,
      is_requirements_met, status, done_mask, next_due_on, created_at, updated_at)
      VALUES (${id}, ${partner}, ${offer}, '2019-01-01', ${anniversary}, ${anniversary}, 0, 1, ${status}, 0, ${nextDue}, 'x', 'x')`);
  }
}

/** Every page of a filter, `limit` at a time, as ids. */
async function readAll(store: Store, filter: SubscriptionListFilter, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: { id: string; nextDueOn?: string } | null = null;
  for (let pages = 0; pages < 20; pages += 1) {
    const page = await readSubscriptionPage(store, filter, after, limit);
    ids.push(...page.slice(0, limit).map((row) => row.id));
    if (page.length <= limit) return ids;
    const last = page[limit - 1]!;
    after = filter.dueBy ? { id: last.id, nextDueOn: last.next_due_on! } : { id: last.id };
  }
  throw new Error('more than 20 pages');
}

const cases: [string, SubscriptionListFilter, string[]][] = [
  ['all, in id order', {}, ['S-001', 'S-002', 'S-003', 'S-010', 'S-011', 'S-0~', 'T-001']],
  ['an id prefix', { idPrefix: 'S-01' }, ['S-010', 'S-011']],
  ['a prefix ending in the highest id character', { idPrefix: 'S-0~' }, ['S-0~']],
  ['a status', { status: 'active' }, ['S-001', 'S-002', 'S-011', 'S-0~', 'T-001']],
  ['an offer and a partner', { offer: 'action_pack', partner: 'P-1' }, ['S-001', 'S-003', 'S-010']],
  ['anniversaries in a range', { anniversaryFrom: '2020-01-05', anniversaryTo: '2020-02-01' }, ['S-001', 'S-002', 'S-011', 'S-0~']],
  ['due by a day, in due order then id', { dueBy: '2020-01-17' }, ['S-002', 'S-011', 'S-001', 'S-0~']],
  ['due by a day and an offer', { dueBy: '2020-12-31', offer: 'competency' }, ['S-002', 'S-011']],
];

describe.each(await storeBackends())('readSubscriptionPage on $name', (backend) => {
  let place: StorePlace;
  let store: Store;
  beforeAll(async () => {
    place = await backend.create();
    store = await place.connect();
    await fill(store);
  });
  afterAll(async () => {
    await place?.drop();
  });

  it.each(cases)('%s: the same ids in one page and in pages of 1 and 2', async (_case, filter, expected) => {
    expect(await readAll(store, filter, 100)).toEqual(expected);
    expect(await readAll(store, filter, 1)).toEqual(expected);
    expect(await readAll(store, filter, 2)).toEqual(expected);
  });

  it('a status filter reads the status index', async () => {
    const query = sql`SELECT id FROM subscriptions WHERE status = 'lapsed' ORDER BY id LIMIT 51`;
    // On 7 rows PostgreSQL would rather scan the table: told not to, it shows the index it has.
    const plan = JSON.stringify(
      backend.name === 'sqlite'
        ? await store.all(sql`EXPLAIN QUERY PLAN ${query}`)
        : await store.transaction(async (tx) => {
            await tx.run(sql`SET LOCAL enable_seqscan = off`);
            return tx.all(sql`EXPLAIN ${query}`);
          }),
    );
    expect(plan).toContain('subscriptions_status_idx');
  });
});
