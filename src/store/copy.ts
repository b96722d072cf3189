import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { privateFileMode } from '../files.js';
import { redactUrl } from '../redact.js';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { is, sql } from 'drizzle-orm';
import { connectStore, openStore, type StoreTarget } from './db.js';
import type { Executor, Row, Store } from './executor.js';
import { describePostgresUrl } from './postgres.js';
import * as schema from './schema.js';

/**
 * Copies the SQLite database `sourceFile` into `targetFile` (which must not exist) through the
 * online backup API. The source is opened read-only: its file is never written, not even by the
 * WAL checkpoint a read-write connection does on close. The pages are copied in one step, that
 * is one read transaction: a snapshot of what was committed when it began, while writers (a
 * running daemon) go on. Pages are copied as they are, faster than `VACUUM INTO`, which
 * rebuilds every index (bench/copy.ts: 3.5 s against 4.8 s at 1,000,000 subscriptions).
 */
export async function copyDatabase(sourceFile: string, targetFile: string): Promise<void> {
  if (existsSync(targetFile)) throw new InputError(`${targetFile}: already exists (a copy never overwrites a file)`);
  const source = openStore(sourceFile, { mode: 'read-only' });
  try {
    // Created empty and owner-only first (an empty file is an empty database to SQLite): the copy holds what the source holds.
    closeSync(openSync(targetFile, 'wx', privateFileMode));
  } catch (error) {
    source.close();
    throw error;
  }
  try {
    await source.connection.backup(targetFile, { progress: () => allPages });
  } catch (error) {
    rmSync(targetFile, { force: true });
    throw error;
  } finally {
    source.close();
  }
}

/** better-sqlite3's largest step: every remaining page at once. */
const allPages = 0x7fffffff;

/** One table as the copy sees it: its name, its columns in order, its one primary key. */
export interface CopiedTable {
  name: string;
  columns: string[];
  primaryKey: string;
  /** An integer key PostgreSQL numbers from a sequence: set past the copied ids afterwards. */
  isKeySequenced: boolean;
}

/**
 * The order tables are copied in: each after the tables its rows name (contacts and subscriptions
 * name partners; invoices, actions and notices name subscriptions), so foreign keys hold at every
 * insert, whichever a dialect's schema declares.
 */
const copyOrder = ['partners', 'contacts', 'subscriptions', 'invoices', 'actions', 'notices', 'audit_events', 'scan_runs', 'api_tokens', 'events', 'console_sessions'];

/**
 * Every table of the schema, read off drizzle's table objects: a table added to `schema.ts` and
 * missing from `copyOrder` stops this module from loading (and every test of the copy with it),
 * so no table is ever left behind.
 */
export const copiedTables: readonly CopiedTable[] = describeTables(
  (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable)).map((table) => getTableConfig(table)),
);

function describeTables(configs: ReturnType<typeof getTableConfig>[]): CopiedTable[] {
  const position = (name: string) => {
    const at = copyOrder.indexOf(name);
    if (at < 0) throw new Error(`store/copy: table ${name} has no place in copyOrder; add it after the tables it references`);
    return at;
  };
  return configs
    .sort((a, b) => position(a.name) - position(b.name))
    .map((config) => {
      for (const key of config.foreignKeys) {
        const parent = getTableConfig(key.reference().foreignTable).name;
        if (position(parent) >= position(config.name)) throw new Error(`store/copy: ${config.name} references ${parent}, which copyOrder puts after it`);
      }
      const keys = config.columns.filter((column) => column.primary);
      if (keys.length !== 1) throw new Error(`store/copy: ${config.name} needs exactly one primary-key column to be read in pages`);
      return {
        name: config.name,
        columns: config.columns.map((column) => column.name),
        primaryKey: keys[0]!.name,
        isKeySequenced: keys[0]!.getSQLType() === 'integer',
      };
    });
}

export interface CopyProgress {
  table: string;
  /** Rows of this table copied so far. */
  copied: number;
  /** Rows of this table in the source's snapshot. */
  total: number;
}

export interface CopyStoreOptions {
  onProgress?: (progress: CopyProgress) => void;
  /** Rows read per page (default 5,000). */
  pageRows?: number;
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

/**
 * Copies every table of `source` into `target`, which must have the schema (its migrations
 * applied) and no rows: a target with any row is refused before anything is written. The source
 * is read in pages by primary key inside one transaction, so the copy is one snapshot (on
 * SQLite, open the source read-only: that transaction is then a read snapshot that writers do
 * not wait for, where a read-write connection's would hold the write lock for the whole copy);
 * the target is written in one transaction, committed only once every table's count matches
 * the source's. PostgreSQL sequences are then past the copied ids: a new row gets a fresh one.
 * bench/copy.ts: 1,000,000 subscriptions (1.75 million rows) from SQLite into PostgreSQL in 111 s,
 * about 16,000 rows/s, on two cores shared with other work.
 */
export async function copyStore(source: Store, target: Store, options: CopyStoreOptions = {}): Promise<TableCount[]> {
  if (source.dialect === target.dialect && source.location === target.location) throw new InputError(`${target.location}: the target is the source`);
  const pageRows = options.pageRows ?? 5_000;
  return source.transaction(
    (from) =>
      target.transaction(async (to) => {
        await checkEmpty(to, target.location);
        const counts: TableCount[] = [];
        for (const table of copiedTables) {
          const total = await countRows(from, table.name);
          options.onProgress?.({ table: table.name, copied: 0, total });
          let copied = 0;
          for await (const page of readPages(from, table, pageRows)) {
            await insertRows(to, table, page);
            copied += page.length;
            options.onProgress?.({ table: table.name, copied, total });
          }
          if (table.isKeySequenced && to.dialect === 'postgres') await setSequencePast(to, table);
          const written = await countRows(to, table.name);
          if (copied !== total || written !== total) {
            throw new Error(`${table.name}: ${total} rows in the source, ${copied} read, ${written} in the target; nothing was copied`);
          }
          counts.push({ table: table.name, source: total, target: written });
        }
        return counts;
      }),
    { isolation: 'repeatable read' },
  );
}

async function checkEmpty(ex: Executor, location: string): Promise<void> {
  // PostgreSQL: a daemon started on the target meanwhile waits for the commit, and finds the copy.
  if (ex.dialect === 'postgres') await ex.run(sql`LOCK TABLE ${sql.join(copiedTables.map((table) => sql.identifier(table.name)), sql`, `)} IN EXCLUSIVE MODE`);
  const filled: string[] = [];
  for (const table of copiedTables) {
    const rows = await countRows(ex, table.name);
    if (rows > 0) filled.push(`${table.name} (${rows})`);
  }
  if (filled.length > 0) throw new InputError(`${location}: the target is not empty: ${filled.join(', ')}; a copy goes only into an empty database`);
}

async function countRows(ex: Executor, table: string): Promise<number> {
  const row = await ex.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${sql.identifier(table)}`);
  return Number(row?.n ?? 0);
}

/** Pages by primary key (keyset): each page one indexed range read, however deep into the table. */
async function* readPages(ex: Executor, table: CopiedTable, pageRows: number): AsyncGenerator<Row[]> {
  const columns = sql.join(table.columns.map((column) => sql.identifier(column)), sql`, `);
  const key = sql.identifier(table.primaryKey);
  let last: unknown;
  for (;;) {
    const after = last === undefined ? sql`` : sql`WHERE ${key} > ${last}`;
    const page = await ex.all(sql`SELECT ${columns} FROM ${sql.identifier(table.name)} ${after} ORDER BY ${key} LIMIT ${pageRows}`);
    if (page.length === 0) return;
    yield page;
    if (page.length < pageRows) return;
    last = page[page.length - 1]![table.primaryKey];
  }
}

/**
 * One page in one statement whose one parameter is the page as JSON, unpacked by the database:
 * a multi-row VALUES list of the same page would take one parameter per cell, and compiling
 * tens of thousands of them costs more than the database's insert (bench/copy.ts).
 */
async function insertRows(ex: Executor, table: CopiedTable, rows: Row[]): Promise<void> {
  const name = sql.identifier(table.name);
  const columns = sql.join(table.columns.map((column) => sql.identifier(column)), sql`, `);
  const page = JSON.stringify(rows.map((row) => Object.fromEntries(table.columns.map((column) => [column, row[column] ?? null]))));
  if (ex.dialect === 'postgres') {
    // The ids are copied as they are, also into a key PostgreSQL generates (GENERATED ALWAYS).
    const overriding = table.isKeySequenced ? sql`OVERRIDING SYSTEM VALUE` : sql``;
    await ex.run(sql`INSERT INTO ${name} (${columns}) ${overriding} SELECT ${columns} FROM json_populate_recordset(NULL::${name}, CAST(${page} AS json))`);
  } else {
    const values = sql.join(table.columns.map((column) => sql`value ->> ${`$.${column}`}`), sql`, `);
    await ex.run(sql`INSERT INTO ${name} (${columns}) SELECT ${values} FROM json_each(${page}) ORDER BY key`);
  }
}

/** PostgreSQL only: the key's sequence (serial or identity) continues after the largest copied id. */
async function setSequencePast(ex: Executor, table: CopiedTable): Promise<void> {
  const key = sql.identifier(table.primaryKey);
  await ex.get(
    sql`SELECT setval(pg_get_serial_sequence(${table.name}, ${table.primaryKey}), COALESCE(MAX(${key}), 0) + 1, false) FROM ${sql.identifier(table.name)}`,
  );
}

/**
 * The source of a copy (`db copy`, `simulate`): the configured store, which must exist (never
 * created here) and is migrated forward like every operator command's. A SQLite file is then
 * read through a read-only connection, whose transaction is a snapshot that a running daemon's
 * writes do not wait for (a read-write one would hold the lock); PostgreSQL's repeatable-read
 * transaction is a snapshot of its own.
 */
export async function openCopySource(where: StoreTarget, applicationName: string): Promise<Store> {
  const store = await connectStore(where, { mode: 'existing', max: 2, applicationName });
  if (!('file' in where)) return store;
  await store.close();
  return connectStore(where, { mode: 'read-only' });
}

export interface CopyTarget {
  store: Store;
  /** After a failed copy: removes the SQLite file the opener created (a PostgreSQL database is left as it was). */
  discard(): Promise<void>;
}

/**
 * Opens the target of `lifecycle db copy --to`: `postgres://…` (an existing database; its
 * migrations applied), or an SQLite file path or `file:` URL, which must not exist yet (or be an
 * empty file): it is created owner-only and migrated, and its directory is left as it is.
 */
export async function openCopyTarget(to: string): Promise<CopyTarget> {
  if (/^postgres(ql)?:\/\//i.test(to)) {
    let database: string;
    try {
      database = decodeURIComponent(new URL(to).pathname.slice(1));
    } catch {
      throw new InputError(`--to ${describePostgresUrl(to)}: not a valid URL`);
    }
    if (!database) throw new InputError(`--to ${describePostgresUrl(to)}: the URL names no database (postgres://host:5432/NAME)`);
    const store = await connectStore({ url: to }, { max: 2, applicationName: 'lifecycle db copy' });
    return { store, discard: async () => {} };
  }
  let file: string;
  if (/^file:/i.test(to)) {
    try {
      file = fileURLToPath(to);
    } catch (error) {
      throw new InputError(`--to ${to}: not a file URL: ${(error as Error).message}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(to)) {
    throw new InputError(`--to ${redactUrl(to)}: expected postgres://…, an SQLite file path or a file: URL`);
  } else file = path.resolve(to);
  if (existsSync(file) && statSync(file).size > 0) throw new InputError(`${file}: already exists (a copy never overwrites a file)`);
  try {
    closeSync(openSync(file, existsSync(file) ? 'r+' : 'wx', privateFileMode));
  } catch (error) {
    throw new InputError(`${file}: cannot create: ${(error as Error).message}`);
  }
  const discard = async () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  };
  try {
    // `existing`: migrated like any store, and the directory it sits in left as it is.
    return { store: await connectStore({ file }, { mode: 'existing' }), discard };
  } catch (error) {
    await discard();
    throw error;
  }
}
