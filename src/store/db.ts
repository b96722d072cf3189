import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { sqliteFileName } from '../config.js';
import { InputError } from '../errors.js';
import { tightenDataDir, touchPrivateFile } from '../files.js';
import { redact, redactError, rememberSecrets, secretsOfUrl } from '../redact.js';
import type { Store } from './executor.js';
import { describePostgresUrl, PostgresStore, type PostgresStoreOptions } from './postgres.js';
import { SqliteStore } from './sqlite.js';

/** `src/store` and `dist/store` are both two levels below the package root. */
export const migrationsFolders = {
  sqlite: fileURLToPath(new URL('../../drizzle/sqlite', import.meta.url)),
  postgres: fileURLToPath(new URL('../../drizzle/postgres', import.meta.url)),
} as const;

export interface OpenStoreOptions {
  busyTimeoutMs?: number;
  /**
   * `create` (default): make the file and its directory if missing, apply migrations.
   * `existing`: the same on a file that must exist (read-only commands never create one).
   * `read-only`: a read-only connection, no migrations, no checkpoint on close: the file's
   * bytes stay as they are (the source of a sandbox copy).
   */
  mode?: 'create' | 'existing' | 'read-only';
}

/**
 * The SQLite store of `file` (see `connectStore`, which every entry point uses). Tests and benches
 * reach the file's own connection through `SqliteStore.connection`.
 */
export function openStore(file: string, options: OpenStoreOptions = {}): SqliteStore {
  const mode = options.mode ?? 'create';
  if (mode !== 'create' && (file === ':memory:' || !existsSync(file))) throw new InputError(`no database at ${file}`);
  // Owner-only: SQLite gives the -wal and -shm files the database file's own mode.
  if (file !== ':memory:' && mode === 'create') {
    const name = path.basename(file);
    tightenDataDir(path.dirname(file), [`${name}-wal`, `${name}-shm`, 'redis.json'], ['outbox', 'redis']);
    touchPrivateFile(file);
  }
  const sqlite = new Database(file, mode === 'read-only' ? { readonly: true, fileMustExist: true } : { fileMustExist: mode === 'existing' });
  // An import holds the write lock for seconds; daemons wait for it rather than fail.
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
  if (mode !== 'read-only') {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    migrateSqlite(sqlite, migrationsFolders.sqlite);
  }
  return new SqliteStore(sqlite);
}

/**
 * drizzle's SQLite migrator, applied under the database's write lock: drizzle reads what is
 * applied before its BEGIN, so two processes opening one file at once (a daemon and `lifecycle
 * import` after an upgrade) both applied the pending migrations, and the second failed to start
 * ("index … already exists"). Here a process that finds one pending takes the lock (`BEGIN
 * IMMEDIATE`, waiting up to the busy timeout), reads again, and applies only what is still
 * pending; one that finds none takes no lock. The same table and rows as drizzle's.
 */
function migrateSqlite(sqlite: Database.Database, migrationsFolder: string): void {
  const migrations = readMigrationFiles({ migrationsFolder });
  sqlite.exec('CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
  const readLast = () => Number((sqlite.prepare('SELECT MAX(created_at) AS last FROM "__drizzle_migrations"').get() as { last: number | null }).last ?? -1);
  const isPending = (last: number) => migrations.some((migration) => last < migration.folderMillis);
  if (!isPending(readLast())) return;
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    const last = readLast();
    for (const migration of migrations) {
      if (last >= migration.folderMillis) continue;
      for (const statement of migration.sql) sqlite.prepare(statement).run();
      sqlite.prepare('INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)').run(migration.hash, migration.folderMillis);
    }
    sqlite.exec('COMMIT');
  } catch (error) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    throw error;
  }
}

/** Where the data lives: a SQLite file, or a PostgreSQL database (`postgres://` or `postgresql://`). */
export type StoreTarget = { file: string } | { url: string };

export interface ConnectStoreOptions extends OpenStoreOptions, PostgresStoreOptions {}

/**
 * Opens the store the target names and brings its schema up to date (see `OpenStoreOptions.mode`).
 * On PostgreSQL the migrations run on a connection of their own under an advisory lock: daemons
 * started together migrate one after the other, and the later ones find nothing left to do.
 */
export async function connectStore(target: StoreTarget, options: ConnectStoreOptions = {}): Promise<Store> {
  if ('file' in target) return openStore(target.file, options);
  // Whoever called (a tool, a test) without loadConfig: the password is hidden all the same.
  rememberSecrets(secretsOfUrl(target.url, { isUserSecret: false }));
  const mode = options.mode ?? 'create';
  const location = describePostgresUrl(target.url);
  try {
    if (mode !== 'read-only') await migratePostgres(target.url, mode);
  } catch (error) {
    throw postgresError(location, error);
  }
  const store = new PostgresStore(target.url, {
    ...options,
    ...(mode === 'read-only' ? { readOnly: true } : {}),
  });
  try {
    await store.get(sql`SELECT 1 AS ok`);
  } catch (error) {
    await store.close().catch(() => {});
    throw postgresError(location, error);
  }
  return store;
}

/** Any 64-bit number, the same in every process of this program: the lock its migrations take. */
const migrationLockKey = 0x6c6966656379636cn; // "lifecycl"

async function migratePostgres(url: string, mode: 'create' | 'existing'): Promise<void> {
  // A host that never answers fails the start within the timeout instead of the OS's minutes.
  const client = new pg.Client({ connectionString: url, application_name: 'membership-lifecycle migrate', connectionTimeoutMillis: 15_000 });
  client.on('error', () => {}); // a server gone mid-way fails the query in progress, reported below
  await client.connect();
  try {
    if (mode === 'existing') {
      const found = await client.query<{ table: string | null }>(`SELECT to_regclass('drizzle.__drizzle_migrations')::text AS "table"`);
      if (!found.rows[0]?.table) throw new InputError(`no lifecycle data in ${describePostgresUrl(url)} (its schema was never created: start the daemon or import first)`);
    }
    // Session-level: held until unlocked or the connection ends, whatever happens in between.
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey.toString()]);
    try {
      await migratePg(drizzlePg({ client }), { migrationsFolder: migrationsFolders.postgres });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey.toString()]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** A connection or migration failure as one line naming the database, never its credentials. */
function postgresError(location: string, error: unknown): Error {
  if (error instanceof InputError) return error;
  // drizzle wraps a failed migration statement (`Failed query: …` over many lines): the driver's reason says it.
  const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const text = reason instanceof Error ? reason.message || String((reason as { code?: unknown }).code ?? reason) : String(reason);
  return redactError(new InputError(`database ${location}: ${redact(text.split('\n')[0]!)}`));
}

export function databaseFile(dataDir: string): string {
  return path.join(dataDir, sqliteFileName);
}
