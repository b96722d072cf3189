import { readFileSync } from 'node:fs';
import { sql, type SQL } from 'drizzle-orm';
import { getTableConfig as getPgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as getSqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolders } from '../../src/store/db.js';
import { prepared, type Executor, type Store } from '../../src/store/executor.js';
import * as sqliteSchema from '../../src/store/schema.js';
import * as pgSchema from '../../src/store/schema-pg.js';
import { storeBackends, type StorePlace } from '../../support/backends.js';

// The store contract every operation in src/store/ relies on, run on each backend: the same SQL
// text, the same answers. A store operation that must behave alike on both can get its own
// `describe` here (or a file of its own on `storeBackends()`).

const sqliteTables = (Object.values(sqliteSchema) as unknown[]).filter((value): value is SQLiteTable => value instanceof SQLiteTable);
const pgTables = (Object.values(pgSchema) as unknown[]).filter((value): value is PgTable => value instanceof PgTable);

function describeSqliteTable(table: SQLiteTable) {
  const config = getSqliteTableConfig(table);
  return {
    name: config.name,
    columns: config.columns.map((c) => ({ name: c.name, notNull: c.notNull, primary: c.primary, unique: c.isUnique, hasDefault: c.hasDefault })),
    indexes: config.indexes.map((i) => ({ name: i.config.name, unique: i.config.unique, columns: i.config.columns.map((c) => (c as { name: string }).name) })),
  };
}

function describePgTable(table: PgTable) {
  const config = getPgTableConfig(table);
  return {
    name: config.name,
    columns: config.columns.map((c) => ({ name: c.name, notNull: c.notNull, primary: c.primary, unique: c.isUnique, hasDefault: c.hasDefault })),
    indexes: config.indexes.map((i) => ({ name: i.config.name, unique: i.config.unique, columns: i.config.columns.map((c) => (c as { name: string }).name) })),
  };
}

describe('schema-pg.ts mirrors schema.ts', () => {
  it('the same tables, columns (order, NOT NULL, keys, defaults) and indexes', () => {
    expect(pgTables.map(describePgTable)).toEqual(sqliteTables.map(describeSqliteTable));
  });

  it('partial indexes have the same condition', () => {
    const conditions = (tables: (SQLiteTable | PgTable)[], get: (t: never) => { indexes: { config: { name: string; where?: SQL } }[] }) =>
      tables.flatMap((t) => get(t as never).indexes.filter((i) => i.config.where).map((i) => [i.config.name, JSON.stringify(i.config.where!.queryChunks)]));
    const sqliteConditions = conditions(sqliteTables, getSqliteTableConfig as never);
    expect(sqliteConditions.map(([name]) => name)).toEqual(['subscriptions_next_due_idx', 'invoices_auto_renew_idx', 'scan_runs_daily_idx']);
    expect(conditions(pgTables, getPgTableConfig as never)).toEqual(sqliteConditions);
  });
});

const journalLength = (folder: string): number => (JSON.parse(readFileSync(`${folder}/meta/_journal.json`, 'utf8')) as { entries: unknown[] }).entries.length;

async function columnsOf(ex: Executor, table: string): Promise<string[]> {
  const rows =
    ex.dialect === 'sqlite'
      ? await ex.all<{ name: string }>(sql`SELECT name FROM pragma_table_info(${table}) ORDER BY cid`)
      : await ex.all<{ name: string }>(
          sql`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`,
        );
  return rows.map((row) => row.name);
}

/** Index names as schema.ts gives them: SQLite's automatic and PostgreSQL's primary-key indexes left out. */
async function indexesOf(ex: Executor): Promise<string[]> {
  const rows =
    ex.dialect === 'sqlite'
      ? await ex.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'`)
      : await ex.all<{ name: string }>(sql`SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey'`);
  return rows.map((row) => row.name).sort();
}

async function appliedMigrations(ex: Executor): Promise<number> {
  const row =
    ex.dialect === 'sqlite'
      ? await ex.get<{ n: number }>(sql`SELECT count(*) AS n FROM __drizzle_migrations`)
      : await ex.get<{ n: number }>(sql`SELECT count(*) AS n FROM drizzle.__drizzle_migrations`);
  return row!.n;
}

const now = '2019-09-01T06:00:00.000Z';

function insertPartner(id: string, isMigrated: boolean): SQL {
  return sql`INSERT INTO partners (id, name, locale, is_migrated, has_bill_to, created_at, updated_at)
    VALUES (${id}, ${`Partner ${id}`}, 'en', ${isMigrated}, ${false}, ${now}, ${now})`;
}

function insertSubscription(id: string, anniversaryOn = '2019-09-10'): SQL {
  return sql`INSERT INTO subscriptions (id, partner_id, offer, purchased_on, imported_anniversary_on, anniversary_on,
      is_auto_renew, is_requirements_met, status, created_at, updated_at)
    VALUES (${id}, 'P-1', 'action_pack', '2018-09-10', ${anniversaryOn}, ${anniversaryOn}, ${true}, ${false}, 'active', ${now}, ${now})`;
}

const countPartners = (ex: Executor) => ex.get<{ n: number }>(sql`SELECT count(*) AS n FROM partners`).then((row) => row!.n);

/** Resolves after the other queued work of the event loop (and a little time) has had its turn. */
const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(await storeBackends())('the store on $name', (backend) => {
  let place: StorePlace;
  let store: Store;

  beforeAll(async () => {
    place = await backend.create();
    store = await place.connect();
  });

  afterAll(async () => {
    await place?.drop();
  });

  describe('migrations', () => {
    it('every table of schema.ts exists with its columns, in order, and every index', async () => {
      for (const table of sqliteTables) {
        const { name, columns } = getSqliteTableConfig(table);
        expect({ name, columns: await columnsOf(store, name) }).toEqual({ name, columns: columns.map((c) => c.name) });
      }
      const expected = sqliteTables.flatMap((table) => {
        const config = getSqliteTableConfig(table);
        return [...config.indexes.map((i) => i.config.name), ...config.columns.filter((c) => c.isUnique).map((c) => c.uniqueName!)];
      });
      expect(await indexesOf(store)).toEqual(expected.sort());
    });

    it('every migration of the dialect is recorded once', async () => {
      expect(await appliedMigrations(store)).toBe(journalLength(migrationsFolders[backend.name]));
    });

    it('stores opened at the same time on a new place all start, and the migrations run once', async () => {
      const fresh = await backend.create();
      try {
        const stores = await Promise.all([fresh.connect(), fresh.connect(), fresh.connect(), fresh.connect()]);
        expect(await appliedMigrations(stores[0]!)).toBe(journalLength(migrationsFolders[backend.name]));
        for (const opened of stores) expect(await countPartners(opened)).toBe(0);
        // And once more on a database already up to date: nothing to do, nothing broken.
        const again = await fresh.connect();
        expect(await appliedMigrations(again)).toBe(journalLength(migrationsFolders[backend.name]));
      } finally {
        await fresh.drop();
      }
    });
  });

  describe('executor', () => {
    it('run says how many rows changed; get the first row or undefined; all every row, snake_case', async () => {
      expect(await store.run(insertPartner('P-1', true))).toBe(1);
      expect(await store.run(insertPartner('P-2', false))).toBe(1);
      expect(await store.get(sql`SELECT id, is_migrated, has_bill_to FROM partners WHERE id = ${'P-1'}`)).toEqual({ id: 'P-1', is_migrated: 1, has_bill_to: 0 });
      expect(await store.get(sql`SELECT id FROM partners WHERE id = ${'nobody'}`)).toBeUndefined();
      expect(await store.all(sql`SELECT id, is_migrated FROM partners ORDER BY id`)).toEqual([
        { id: 'P-1', is_migrated: 1 },
        { id: 'P-2', is_migrated: 0 },
      ]);
      expect(await store.run(sql`UPDATE partners SET locale = 'zh-TW' WHERE id IN ('P-1', 'P-2')`)).toBe(2);
      expect(await store.run(sql`UPDATE partners SET locale = 'en' WHERE id = 'nobody'`)).toBe(0);
    });

    it('counts, sums and integer columns come back as numbers; an empty sum as null', async () => {
      await store.run(insertSubscription('S-count-1'));
      await store.run(sql`UPDATE subscriptions SET done_mask = ${5} WHERE id = ${'S-count-1'}`);
      const row = await store.get<Record<string, unknown>>(
        sql`SELECT count(*) AS n, sum(done_mask) AS total, max(done_mask) AS top, COALESCE(sum(CASE WHEN done_mask > 100 THEN 1 ELSE 0 END), 0) AS big FROM subscriptions WHERE id = ${'S-count-1'}`,
      );
      expect(row).toEqual({ n: 1, total: 5, top: 5, big: 0 });
      expect(await store.get(sql`SELECT sum(done_mask) AS total FROM subscriptions WHERE id = ${'nobody'}`)).toEqual({ total: null });
    });

    it('booleans bind as 0/1 and read back as 0/1', async () => {
      await store.run(insertPartner('P-bool', true));
      expect(await store.get(sql`SELECT is_migrated, has_bill_to FROM partners WHERE id = ${'P-bool'}`)).toEqual({ is_migrated: 1, has_bill_to: 0 });
      expect(await store.all(sql`SELECT id FROM partners WHERE is_migrated = ${true} AND id = ${'P-bool'}`)).toEqual([{ id: 'P-bool' }]);
    });

    it('dates and instants round-trip as the same text, and compare in calendar order', async () => {
      await store.run(insertSubscription('S-date-1', '2019-09-30'));
      await store.run(insertSubscription('S-date-2', '2019-10-01'));
      expect(await store.get(sql`SELECT anniversary_on, created_at FROM subscriptions WHERE id = ${'S-date-1'}`)).toEqual({ anniversary_on: '2019-09-30', created_at: now });
      expect(await store.all(sql`SELECT id FROM subscriptions WHERE id LIKE 'S-date-%' AND anniversary_on <= ${'2019-09-30'} ORDER BY id`)).toEqual([{ id: 'S-date-1' }]);
      expect(await store.all(sql`SELECT id FROM subscriptions WHERE id LIKE 'S-date-%' ORDER BY anniversary_on DESC`)).toEqual([{ id: 'S-date-2' }, { id: 'S-date-1' }]);
    });

    it('a null parameter compared with IS NULL needs a cast on PostgreSQL; with it both answer alike', async () => {
      const filter = (partner: string | null) =>
        store.all<{ id: string }>(sql`SELECT id FROM partners WHERE (CAST(${partner} AS text) IS NULL OR id = ${partner}) AND id IN ('P-1', 'P-2') ORDER BY id`);
      expect(await filter(null)).toEqual([{ id: 'P-1' }, { id: 'P-2' }]);
      expect(await filter('P-2')).toEqual([{ id: 'P-2' }]);
    });

    it('RETURNING gives the new integer key as a number', async () => {
      const first = await store.get<{ id: number }>(sql`INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES ('2019-09-01', 'operator', 'done', ${now}) RETURNING id`);
      const second = await store.get<{ id: number }>(sql`INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES ('2019-09-01', 'operator', 'done', ${now}) RETURNING id`);
      expect(typeof first!.id).toBe('number');
      expect(second!.id).toBeGreaterThan(first!.id);
    });

    it('ON CONFLICT DO NOTHING reports 0 rows, on a unique column and on a partial unique index', async () => {
      const token = (name: string) => sql`INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (${name}, 'viewer', ${`hash-${name}`}, ${now}) ON CONFLICT (name) DO NOTHING`;
      expect(await store.run(token('ci'))).toBe(1);
      expect(await store.run(token('ci'))).toBe(0);
      const daily = (trigger: string) =>
        sql`INSERT INTO scan_runs (as_of, "trigger", status, started_at) VALUES ('2019-09-02', ${trigger}, 'running', ${now}) ON CONFLICT (as_of) WHERE "trigger" = 'daily' DO NOTHING`;
      expect(await store.run(daily('daily'))).toBe(1);
      expect(await store.run(daily('daily'))).toBe(0);
      // The index is partial: another trigger on the same day is not a conflict.
      expect(await store.run(daily('operator'))).toBe(1);
    });

    it('ON CONFLICT DO UPDATE counts the row it updated', async () => {
      const upsert = (locale: string) =>
        sql`INSERT INTO partners (id, name, locale, is_migrated, has_bill_to, created_at, updated_at) VALUES ('P-up', 'Up', ${locale}, 0, 0, ${now}, ${now})
          ON CONFLICT (id) DO UPDATE SET locale = excluded.locale`;
      expect(await store.run(upsert('en'))).toBe(1);
      expect(await store.run(upsert('zh-TW'))).toBe(1);
      expect(await store.get(sql`SELECT locale FROM partners WHERE id = 'P-up'`)).toEqual({ locale: 'zh-TW' });
    });
    it('a prepared statement answers as the same text unprepared, run again and again on every connection, in two shapes and in a transaction', async () => {
      await store.run(insertPartner('P-prep', false));
      // Two shapes of one query, as recordNoticeSent's (with and without the reminder): two texts, two statements.
      const byId = (id: string, withLocale: boolean) =>
        sql`SELECT id${withLocale ? sql`, locale` : sql``} FROM partners WHERE id = ${id}`;
      // More runs at once than a PostgreSQL pool has connections: each connection prepares each text once.
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) => store.get(prepared(byId(i % 3 === 0 ? 'nobody' : 'P-prep', i % 2 === 0)))),
      );
      const expected = await Promise.all(Array.from({ length: 24 }, (_, i) => store.get(byId(i % 3 === 0 ? 'nobody' : 'P-prep', i % 2 === 0))));
      expect(answers).toEqual(expected);
      expect(answers[1]).toEqual({ id: 'P-prep' });
      expect(answers[2]).toEqual({ id: 'P-prep', locale: 'en' });
      expect(
        await store.transaction(async (tx) => {
          expect(await tx.run(prepared(sql`UPDATE partners SET locale = ${'zh-TW'} WHERE id = ${'P-prep'}`))).toBe(1);
          return tx.get(prepared(byId('P-prep', true)));
        }),
      ).toEqual({ id: 'P-prep', locale: 'zh-TW' });
    });

    it('allRepeatable answers as all does; inside a transaction it joins it', async () => {
      const mark = (id: string) => sql`UPDATE partners SET name = 'marked' WHERE id = ${id} AND name <> 'marked' RETURNING id`;
      await store.run(insertPartner('P-rep', false));
      expect(await store.allRepeatable(prepared(mark('P-rep')))).toEqual([{ id: 'P-rep' }]);
      // Run a second time it takes no effect: what makes a statement repeatable.
      expect(await store.allRepeatable(prepared(mark('P-rep')))).toEqual([]);
      await store.run(insertPartner('P-rep-tx', false));
      await expect(
        store.transaction(async () => {
          expect(await store.allRepeatable(mark('P-rep-tx'))).toEqual([{ id: 'P-rep-tx' }]);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await store.get(sql`SELECT name FROM partners WHERE id = 'P-rep-tx'`)).toEqual({ name: 'Partner P-rep-tx' });
    });
  });

  describe('transactions', () => {
    it('commit: the rows are there once it resolves, and its value is returned', async () => {
      const value = await store.transaction(async (tx) => {
        await tx.run(insertPartner('P-tx-commit', false));
        return (await tx.get<{ n: number }>(sql`SELECT count(*) AS n FROM partners WHERE id = 'P-tx-commit'`))!.n;
      });
      expect(value).toBe(1);
      expect(await store.get(sql`SELECT id FROM partners WHERE id = 'P-tx-commit'`)).toEqual({ id: 'P-tx-commit' });
    });

    it('rollback: a throw undoes every statement and reaches the caller', async () => {
      const failure = new Error('changed my mind');
      await expect(
        store.transaction(async (tx) => {
          await tx.run(insertPartner('P-tx-rollback', false));
          await tx.run(sql`UPDATE partners SET locale = 'xx' WHERE id = 'P-1'`);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await store.get(sql`SELECT id FROM partners WHERE id = 'P-tx-rollback'`)).toBeUndefined();
      expect(await store.get(sql`SELECT locale FROM partners WHERE id = 'P-1'`)).not.toEqual({ locale: 'xx' });
    });

    it('a failing statement rolls the transaction back (the statements before it too)', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.run(insertPartner('P-tx-dup', false));
          await tx.run(insertPartner('P-tx-dup', false));
        }),
      ).rejects.toThrow();
      expect(await store.get(sql`SELECT id FROM partners WHERE id = 'P-tx-dup'`)).toBeUndefined();
    });

    it('a statement on the store inside a transaction joins it: it sees its rows and is rolled back with it', async () => {
      await expect(
        store.transaction(async () => {
          await store.run(insertPartner('P-tx-joined', false));
          expect(await store.get(sql`SELECT id FROM partners WHERE id = 'P-tx-joined'`)).toEqual({ id: 'P-tx-joined' });
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await store.get(sql`SELECT id FROM partners WHERE id = 'P-tx-joined'`)).toBeUndefined();
    });

    it('a transaction inside a transaction is refused (pass the tx on instead)', async () => {
      await expect(store.transaction(() => store.transaction(async () => 1))).rejects.toThrow(/already inside a transaction/);
    });

    it('a statement outside the transaction is not part of it: the transaction rolls back, the statement stays', async () => {
      let entered!: () => void;
      const isInside = new Promise<void>((resolve) => (entered = resolve));
      let proceed!: () => void;
      const mayProceed = new Promise<void>((resolve) => (proceed = resolve));
      const transaction = store.transaction(async (tx) => {
        await tx.run(insertPartner('P-tx-inner', false));
        entered();
        await mayProceed;
        throw new Error('roll back the inner one');
      });
      await isInside;
      // SQLite: waits for the transaction to end (one connection); PostgreSQL: another connection.
      const outside = store.run(insertPartner('P-tx-outer', false));
      await pause(20);
      proceed();
      await expect(transaction).rejects.toThrow('roll back the inner one');
      expect(await outside).toBe(1);
      expect(await store.all(sql`SELECT id FROM partners WHERE id IN ('P-tx-inner', 'P-tx-outer')`)).toEqual([{ id: 'P-tx-outer' }]);
    });

    it('concurrent transactions: none sees or undoes another one\'s work, and increments add up', async () => {
      await store.run(insertSubscription('S-counter'));
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.run(insertPartner(`P-conc-${i}`, false));
            await pause(i % 3);
            // Read-modify-write: PostgreSQL needs the row lock (FOR UPDATE); SQLite's transaction holds the database's.
            const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
            const row = await tx.get<{ done_mask: number }>(sql`SELECT done_mask FROM subscriptions WHERE id = 'S-counter'${lock}`);
            await pause(i % 2);
            await tx.run(sql`UPDATE subscriptions SET done_mask = ${row!.done_mask + 1} WHERE id = 'S-counter'`);
            const own = await tx.all<{ id: string }>(sql`SELECT id FROM partners WHERE id LIKE 'P-conc-%' ORDER BY id`);
            // Each transaction sees its own row, and never one of a transaction that rolls back.
            expect(own.map((r) => r.id)).toContain(`P-conc-${i}`);
            expect(own.filter((r) => r.id !== `P-conc-${i}` && Number(r.id.slice('P-conc-'.length)) % 4 === 3)).toEqual([]);
            if (i % 4 === 3) throw new Error(`transaction ${i} fails`);
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3);
      const committed = Array.from({ length: 12 }, (_, i) => i).filter((i) => i % 4 !== 3);
      expect(await store.all(sql`SELECT id FROM partners WHERE id LIKE 'P-conc-%' ORDER BY id`)).toEqual(
        committed.map((i) => ({ id: `P-conc-${i}` })).sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      expect(await store.get(sql`SELECT done_mask FROM subscriptions WHERE id = 'S-counter'`)).toEqual({ done_mask: committed.length });
    });

    it('statements outside transactions, many at once, all land', async () => {
      const before = await countPartners(store);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.run(insertPartner(`P-many-${i}`, i % 2 === 0))));
      expect(await countPartners(store)).toBe(before + 20);
    });
  });
});
