import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import type { Store } from '../../src/store/executor.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { readSubscriptionPage, type SubscriptionListFilter } from '../../src/store/subscription-list.js';

// The same operation on SQLite (the migrated schema) and PostgreSQL (the columns it reads, made
// here until the PostgreSQL schema lands): the same rows, in the same order, page after page.

const admin = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
const database = `lifecycle_list_${process.pid}_${Date.now()}`;

async function hasPostgres(): Promise<boolean> {
  const client = new pg.Client(admin);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
const postgresUp = await hasPostgres();
if (!postgresUp) console.warn('subscription-list-store.test.ts: PostgreSQL part skipped: nothing listens on 127.0.0.1:5432');

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

describe.each([
  ['SQLite', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-list-'));
    const store = openStore(path.join(dir, 'lifecycle.db'));
    return { store: store as Store, close: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }],
  ...(postgresUp
    ? [['PostgreSQL', async () => {
        const client = new pg.Client(admin);
        await client.connect();
        await client.query(`CREATE DATABASE ${database}`);
        await client.end();
        const store = new PostgresStore(`postgres://postgres@127.0.0.1:5432/${database}`);
        await store.run(sql`CREATE TABLE subscriptions (id text PRIMARY KEY, partner_id text NOT NULL, offer text NOT NULL, competency_area text,
          competency_level text, purchased_on text NOT NULL, imported_anniversary_on text NOT NULL, anniversary_on text NOT NULL,
          is_auto_renew integer NOT NULL, is_requirements_met integer NOT NULL, payment_method text, payment_token text,
          payment_contact_name text, payment_phone text, payment_email text, status text NOT NULL, done_mask integer NOT NULL DEFAULT 0,
          next_due_on text, cancelled_on text, cancel_ticket text, lapsed_on text, pending_invoice text, created_at text NOT NULL, updated_at text NOT NULL)`);
        return {
          store: store as Store,
          close: async () => {
            await store.close();
            const drop = new pg.Client(admin);
            await drop.connect();
            await drop.query(`DROP DATABASE IF EXISTS ${database}`);
            await drop.end();
          },
        };
      }] as const]
    : []),
] as const)('readSubscriptionPage on %s', (_name, open) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await open());
    await fill(store);
  });
  afterAll(async () => {
    await close?.();
  });

  it.each(cases)('%s: the same ids in one page and in pages of 1 and 2', async (_case, filter, expected) => {
    expect(await readAll(store, filter, 100)).toEqual(expected);
    expect(await readAll(store, filter, 1)).toEqual(expected);
    expect(await readAll(store, filter, 2)).toEqual(expected);
  });
});
