import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile } from '../../src/import/import-file.js';
import { copiedTables, copyStore } from '../../src/store/copy.js';
import { connectStore, migrationsFolders, openStore } from '../../src/store/db.js';
import type { Executor, Store } from '../../src/store/executor.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { insertSession } from '../../src/store/sessions.js';
import { createTestDatabase, hasIcu, isPostgresTested, type TestDatabase } from '../../support/postgres.js';

// A database written by the code of commit c4920f4 (migrations 0000-0003, see test/fixtures/README.md)
// opens with today's code: the migrations added since apply on top, and nothing already there is lost.
// The same for a PostgreSQL database of the release before text columns took COLLATE "C" (below).

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
      expect((legacy.connection.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n).toBe(journal.entries.length);
    } finally {
      void legacy.close();
    }
  });
});

type Journal = { entries: { tag: string; when: number }[] };
const pgJournal = JSON.parse(readFileSync(path.join(migrationsFolders.postgres, 'meta/_journal.json'), 'utf8')) as Journal;
/** The PostgreSQL migrations of the release before COLLATE "C": the schema its databases have. */
const releasedPgMigrations = ['0000_init', '0001_console-status-index', '0002_console-sessions'];

/** Columns that migrations after the release's add (each a text column, null in every old row): left out of the comparisons. */
const laterColumns = [
  { table: 'notices', column: 'claimed_until' },
  { table: 'scan_runs', column: 'heartbeat_at' },
];

/** The text columns of the public tables and their collation (null: the database's default), later columns left out. */
async function textColumns(ex: Executor) {
  const columns = await ex.all<{ table_name: string; column_name: string; collation_name: string | null }>(sql`
    SELECT table_name, column_name, collation_name FROM information_schema.columns
     WHERE table_schema = 'public' AND data_type = 'text' ORDER BY table_name, ordinal_position`);
  return columns.filter((c) => !laterColumns.some((later) => later.table === c.table_name && later.column === c.column_name));
}

/** Every index of the public tables: its definition, whether it is usable, and the collation of each key column ('-': none, an integer). */
function indexes(ex: Executor) {
  return ex.all<{ name: string; definition: string; is_valid: boolean; collations: string[] }>(sql`
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS is_valid,
           ARRAY(SELECT COALESCE(c.collname::text, '-') FROM unnest(i.indcollation::oid[]) WITH ORDINALITY AS k(oid, n)
                   LEFT JOIN pg_collation c ON c.oid = k.oid ORDER BY k.n) AS collations
      FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
     WHERE t.relnamespace = 'public'::regnamespace ORDER BY 1`);
}

/** Each table's row count and a digest of all its rows (sorted by their text, byte by byte; later columns left out). */
async function contents(ex: Executor): Promise<Record<string, { n: number; digest: string }>> {
  const result: Record<string, { n: number; digest: string }> = {};
  for (const { name } of copiedTables) {
    result[name] = (await ex.get<{ n: number; digest: string }>(
      sql`SELECT count(*)::int AS n, md5(COALESCE(string_agg(r, E'\n' ORDER BY r COLLATE "C"), '')) AS digest
            FROM (SELECT (to_jsonb(t) - string_to_array(${laterColumns.filter((c) => c.table === name).map((c) => c.column).join(',')}, ','))::text AS r FROM ${sql.identifier(name)} t) rows`,
    ))!;
  }
  return result;
}

const partnerIds = (ex: Executor) => ex.all<{ id: string }>(sql`SELECT id FROM partners ORDER BY id`).then((rows) => rows.map((row) => row.id));

describe.skipIf(!(await isPostgresTested()))('a PostgreSQL database of migrations 0000-0002 opens with the new code: text columns COLLATE "C"', () => {
  let dir: string;
  let database: TestDatabase;
  let isIcu: boolean;
  let store: Store;
  let before: {
    columns: Awaited<ReturnType<typeof textColumns>>;
    indexes: Awaited<ReturnType<typeof indexes>>;
    contents: Awaited<ReturnType<typeof contents>>;
    partnerIds: string[];
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-migrate-pg-'));
    // A database whose own collation does not compare bytes (ICU en-US sorts 'P-a' before 'P-B'), when the server has ICU.
    isIcu = await hasIcu();
    database = await createTestDatabase(isIcu ? { icuLocale: 'en-US' } : {});

    // The release's schema: its migrations, applied as its connectStore applied them.
    const released = path.join(dir, 'drizzle-postgres-0002');
    mkdirSync(path.join(released, 'meta'), { recursive: true });
    const entries = pgJournal.entries.slice(0, releasedPgMigrations.length);
    writeFileSync(path.join(released, 'meta/_journal.json'), JSON.stringify({ ...pgJournal, entries }));
    for (const { tag } of entries) copyFileSync(path.join(migrationsFolders.postgres, `${tag}.sql`), path.join(released, `${tag}.sql`));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await migrate(drizzle({ client }), { migrationsFolder: released });
    } finally {
      await client.end();
    }

    // Its data: the SQLite fixture's (every table), copied in, two partners whose ids sort apart
    // in en-US and byte by byte, and a console session.
    const file = path.join(dir, 'lifecycle.db');
    copyFileSync(fixture, file);
    const source = await connectStore({ file });
    const old = new PostgresStore(database.url);
    try {
      // The copy writes every column of the current schema: those later migrations add are there only while it runs.
      for (const { table, column } of laterColumns) await old.run(sql`ALTER TABLE ${sql.identifier(table)} ADD COLUMN ${sql.identifier(column)} text`);
      await copyStore(source, old);
      for (const { table, column } of laterColumns) await old.run(sql`ALTER TABLE ${sql.identifier(table)} DROP COLUMN ${sql.identifier(column)}`);
      for (const id of ['P-a', 'P-B']) {
        await old.run(sql`INSERT INTO partners (id, name, locale, is_migrated, has_bill_to, created_at, updated_at)
          VALUES (${id}, ${`Partner ${id}`}, 'en', 0, 0, '2019-10-16T06:00:00.000Z', '2019-10-16T06:00:00.000Z')`);
      }
      const at = Date.parse('2019-10-16T06:00:00.000Z');
      const session = { idHash: 'a'.repeat(64), csrf: 'csrf', actor: { name: 'admin', role: 'operator', ref: 'admin' }, tokenHash: 'b'.repeat(64) } as const;
      await insertSession(old, { ...session, createdAtMs: at, expiresAtMs: at + 3_600_000 }, at, 100);
      before = { columns: await textColumns(old), indexes: await indexes(old), contents: await contents(old), partnerIds: await partnerIds(old) };
    } finally {
      await old.close();
      await source.close();
    }

    store = await connectStore({ url: database.url });
  });

  afterAll(async () => {
    await store?.close().catch(() => {});
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the release had the three first migrations, its text columns the database\'s collation', () => {
    expect(pgJournal.entries.slice(0, releasedPgMigrations.length).map((e) => e.tag)).toEqual(releasedPgMigrations);
    expect(before.columns.length).toBeGreaterThan(100);
    expect(before.columns.filter((c) => c.collation_name !== null)).toEqual([]);
    expect(before.contents.partners!.n).toBe(rowsAtFixture.partners + 2);
    expect(before.contents.console_sessions!.n).toBe(1);
    if (isIcu) expect(before.partnerIds).toEqual(['P-1001', 'P-1002', 'P-1003', 'P-1004', 'P-a', 'P-B']);
  });

  it('every migration of drizzle/postgres is recorded, each once', async () => {
    const applied = await store.all<{ created_at: string }>(sql`SELECT created_at FROM drizzle.__drizzle_migrations ORDER BY created_at`);
    expect(applied.map((row) => Number(row.created_at))).toEqual(pgJournal.entries.map((e) => e.when));
  });

  it('every text column is COLLATE "C" now, and no other column changed', async () => {
    const after = await textColumns(store);
    expect(after.map(({ table_name, column_name }) => [table_name, column_name])).toEqual(before.columns.map(({ table_name, column_name }) => [table_name, column_name]));
    expect(after.filter((c) => c.collation_name !== 'C')).toEqual([]);
    const attributes = await store.all<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
       WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND a.attcollation = 'pg_catalog."C"'::regcollation`);
    expect(attributes[0]!.n).toBe(before.columns.length + laterColumns.length);
  });

  it('the indexes are the same, rebuilt in "C" and valid; the foreign key holds', async () => {
    const after = await indexes(store);
    expect(after.map(({ name, definition }) => ({ name, definition }))).toEqual(before.indexes.map(({ name, definition }) => ({ name, definition })));
    expect(before.indexes.flatMap((i) => i.collations).filter((c) => c !== '-')).toContain('default');
    // Each key column of text in "C" now, where it was in the database's default.
    expect(after.map(({ name, collations }) => ({ name, collations }))).toEqual(
      before.indexes.map(({ name, collations }) => ({ name, collations: collations.map((c) => (c === 'default' ? 'C' : c)) })),
    );
    expect(after.filter((i) => !i.is_valid)).toEqual([]);
    expect(await store.all(sql`SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`)).toEqual([
      { conname: 'contacts_partner_id_partners_id_fk', convalidated: true },
    ]);
  });

  it('no row is lost or changed', async () => {
    expect(await contents(store)).toEqual(before.contents);
  });

  it('ids sort byte by byte, as on SQLite, whatever the database\'s locale', async () => {
    expect(await partnerIds(store)).toEqual(['P-1001', 'P-1002', 'P-1003', 'P-1004', 'P-B', 'P-a']);
  });

  it('new rows take keys after the old ones; an import updates a subscription', async () => {
    const row = await store.get<{ id: number }>(
      sql`INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES ('2019-10-16', 'operator', 'done', '2019-10-16T06:00:00.000Z') RETURNING id`,
    );
    expect(row!.id).toBe(rowsAtFixture.scan_runs + 1);
    // S-1 without auto-renew: merged through the import's staging tables, joined on id with the real ones.
    const examples = JSON.parse(readFileSync(fileURLToPath(new URL('../../examples/subscriptions.json', import.meta.url)), 'utf8')) as {
      partners: unknown[];
      subscriptions: { id: string; autoRenew: boolean }[];
    };
    const changed = { ...examples, subscriptions: examples.subscriptions.map((s) => (s.id === 'S-1' ? { ...s, autoRenew: false } : s)) };
    const file = path.join(dir, 'changed.json');
    writeFileSync(file, JSON.stringify(changed));
    const summary = await importFile(store, file, new Date('2019-10-16T07:00:00.000Z'));
    expect(summary.subscriptions).toEqual({ created: 0, updated: 1, unchanged: examples.subscriptions.length - 1 });
    expect(await store.get(sql`SELECT is_auto_renew FROM subscriptions WHERE id = 'S-1'`)).toEqual({ is_auto_renew: 0 });
  });
});
