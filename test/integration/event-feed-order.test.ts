import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { readEventPage } from '../../src/store/event-feed.js';
import { recordEvent, type NewEvent } from '../../src/store/events.js';
import type { Store } from '../../src/store/executor.js';
import { isPostgresTested } from '../../support/postgres.js';
import { postgresBackend, type StorePlace } from '../../support/backends.js';

const lapse = (subscription: string): NewEvent => ({
  type: 'subscription.lapsed',
  at: new Date('2019-10-02T06:00:00Z'),
  subscription,
  partner: 'P-1',
  anniversary: '2019-09-01',
  detail: { action: 'lapse', lapsedOn: '2019-10-02' },
});

/** Every event a poller gets by following `next` from the start, as the feed route does. */
async function poll(store: Store, after: number, settleMs: number): Promise<{ subscriptions: string[]; next: number }> {
  const rows = await readEventPage(store, after, 100, undefined, { settleMs });
  return { subscriptions: rows.map((row) => row.subscription_id!), next: rows.length > 0 ? Number(rows[rows.length - 1]!.id) : after };
}

describe.skipIf(!(await isPostgresTested()))('the events feed on PostgreSQL, with transactions committing out of id order', () => {
  let place: StorePlace | undefined;
  let release = () => {};
  afterEach(async () => {
    release();
    await place?.drop();
    place = undefined;
  });

  it('a poller following the cursor misses no event: one still open holds back those after it', async () => {
    place = await postgresBackend.create();
    const store = await place.connect();
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const isWritten = new Promise<void>((resolve) => (written = resolve));
    // A job's transaction takes the lower id and is still open when a later one commits.
    const open = store.transaction(async (tx) => {
      await recordEvent(tx, lapse('S-slow'));
      written();
      await gate;
    });
    await isWritten;
    await recordEvent(store, lapse('S-fast'));
    const ids = await store.all<{ id: number; subscription_id: string }>(sql`SELECT id, subscription_id FROM events ORDER BY id`);
    expect(ids.map((row) => row.subscription_id)).toEqual(['S-fast']);

    const first = await poll(store, 0, 50);
    expect(first).toEqual({ subscriptions: [], next: 0 });
    release();
    await open;
    const second = await poll(store, first.next, 50);
    expect(second.subscriptions).toEqual(['S-slow', 'S-fast']);
    expect((await poll(store, second.next, 50)).subscriptions).toEqual([]);
  });

  it('a transaction that is rolled back leaves a gap the feed passes once nothing is in flight', async () => {
    place = await postgresBackend.create();
    const store = await place.connect();
    await recordEvent(store, lapse('S-1'));
    await store.transaction(async (tx) => {
      await recordEvent(tx, lapse('S-rolled-back'));
      throw new Error('rolled back');
    }).catch(() => undefined);
    await recordEvent(store, lapse('S-3'));
    // A generous bound: other suites' transactions on the same server are waited for too (it returns once they end).
    expect((await poll(store, 0, 10_000)).subscriptions).toEqual(['S-1', 'S-3']);
  });

  it('events copied in with their ids (the sequence set past them, unused) are served', async () => {
    place = await postgresBackend.create();
    const store = await place.connect();
    for (const id of [1, 2, 5]) {
      await store.run(sql`
        INSERT INTO events (id, event_id, type, occurred_at, subscription_id, partner_id, data, status, attempts)
        VALUES (${id}, ${`evt_copied${id}`}, 'subscription.lapsed', '2019-10-02T06:00:00.000Z', ${`S-${id}`}, 'P-1', '{}', 'delivered', 1)`);
    }
    await store.run(sql`SELECT setval(pg_get_serial_sequence('events', 'id'), 6, false)`);
    expect(await poll(store, 0, 1000)).toEqual({ subscriptions: ['S-1', 'S-2', 'S-5'], next: 5 });
    await recordEvent(store, lapse('S-6'));
    expect((await poll(store, 5, 1000)).subscriptions).toEqual(['S-6']);
  });
});
