import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore, migrationsFolders, openStore } from '../../src/store/db.js';
import type { Store } from '../../src/store/executor.js';

// A database written by the code of commit c4920f4 (migrations 0000-0003, see test/fixtures/README.md)
// opens with today's code: the migrations added since apply on top, and nothing already there is lost.

const fixture = fileURLToPath(new URL('../fixtures/lifecycle-0003.db', import.meta.url));
const journal = JSON.parse(readFileSync(path.join(migrationsFolders.sqlite, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string; when: number }[] };

/** Rows per table when the fixture was made. */
const rowsAtFixture = {
  actions: 21,
  api_tokens: 1,
  audit_events: 9,
  contacts: 5,
  events: 34,
  invoices: 4,
  notices: 21,
  partners: 4,
  scan_runs: 62,
  subscriptions: 9,
};

describe('a SQLite database of migrations 0000-0003 opens with the new code', () => {
  let dir: string;
  let file: string;
  let store: Store;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-migrate-'));
    file = path.join(dir, 'lifecycle.db');
    copyFileSync(fixture, file);
    store = await connectStore({ file });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every migration of drizzle/sqlite is recorded, the fixture\'s four first, each once', async () => {
    const applied = await store.all<{ created_at: number }>(sql`SELECT created_at FROM __drizzle_migrations ORDER BY created_at`);
    expect(journal.entries.slice(0, 4).map((e) => e.tag)).toEqual(['0000_init', '0001_import-compares-columns', '0002_named-tokens', '0003_events-outbox']);
    expect(applied.map((row) => Number(row.created_at))).toEqual(journal.entries.map((e) => e.when));
  });

  it('no row is lost', async () => {
    for (const [table, count] of Object.entries(rowsAtFixture)) {
      const row = await store.get<{ n: number }>(sql`SELECT count(*) AS n FROM ${sql.identifier(table)}`);
      expect({ table, n: row!.n }).toEqual({ table, n: count });
    }
  });

  it('values read back as they were written', async () => {
    expect(await store.all(sql`SELECT id, status, anniversary_on, lapsed_on, done_mask, next_due_on, is_auto_renew FROM subscriptions WHERE id IN ('S-1', 'S-4') ORDER BY id`)).toEqual([
      { id: 'S-1', status: 'active', anniversary_on: '2020-09-01', lapsed_on: null, done_mask: 0, next_due_on: '2020-08-17', is_auto_renew: 1 },
      { id: 'S-4', status: 'lapsed', anniversary_on: '2019-09-05', lapsed_on: '2019-10-06', done_mask: 15, next_due_on: null, is_auto_renew: 1 },
    ]);
    expect(await store.all(sql`SELECT number, subscription_id, purpose, status, amount_minor, paid_on FROM invoices ORDER BY seq`)).toEqual([
      { number: 'INV-2019-000001', subscription_id: 'S-1', purpose: 'auto-renew', status: 'paid', amount_minor: 47500, paid_on: '2019-09-01' },
      { number: 'INV-2019-000002', subscription_id: 'S-4', purpose: 'auto-renew', status: 'failed', amount_minor: 47500, paid_on: null },
      { number: 'INV-2019-000003', subscription_id: 'S-6', purpose: 'auto-renew', status: 'paid', amount_minor: 47500, paid_on: '2019-09-26' },
      { number: 'INV-2019-000004', subscription_id: 'S-7', purpose: 'renewal', status: 'paid', amount_minor: 167000, paid_on: '2019-09-25' },
    ]);
    expect(await store.all(sql`SELECT id, locale, is_migrated FROM partners ORDER BY id`)).toEqual([
      { id: 'P-1001', locale: 'zh-TW', is_migrated: 1 },
      { id: 'P-1002', locale: 'en', is_migrated: 0 },
      { id: 'P-1003', locale: 'en', is_migrated: 1 },
      { id: 'P-1004', locale: 'en', is_migrated: 0 },
    ]);
    expect(await store.all(sql`SELECT status, count(*) AS n FROM notices GROUP BY status ORDER BY status`)).toEqual([
      { status: 'sent', n: 18 },
      { status: 'undeliverable', n: 3 },
    ]);
    expect(await store.get(sql`SELECT name, role, revoked_at FROM api_tokens`)).toEqual({ name: 'fixture-viewer', role: 'viewer', revoked_at: null });
  });

  it('new rows take keys after the old ones', async () => {
    const row = await store.get<{ id: number }>(
      sql`INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES ('2019-10-16', 'operator', 'done', '2019-10-16T06:00:00.000Z') RETURNING id`,
    );
    expect(row!.id).toBe(rowsAtFixture.scan_runs + 1);
  });

  it('the sync openStore of the transition opens it too (the file is up to date now: nothing to apply)', () => {
    const legacy = openStore(file, { mode: 'existing' });
    try {
      expect((legacy.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n).toBe(journal.entries.length);
    } finally {
      void legacy.close();
    }
  });
});
