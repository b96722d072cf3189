import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { sqliteFileName } from '../config.js';
import { InputError } from '../errors.js';
import { tightenDataDir, touchPrivateFile } from '../files.js';
import { redact, redactError, rememberSecrets, secretsOfUrl } from '../redact.js';
import type { Store as StoreContract } from './executor.js';
import { describePostgresUrl, PostgresStore, type PostgresStoreOptions } from './postgres.js';
import * as schema from './schema.js';
import { SqliteStore } from './sqlite.js';

export type Db = BetterSQLite3Database<typeof schema>;

/**
 * The SQLite store (see `SqliteStore`). `sqlite` and `db` are the raw connection and drizzle
 * handle, kept only while the code moves onto the executor operations: new code uses
 * `store.all/get/run/transaction` through the operations in `src/store/`.
 */
export type Store = SqliteStore & {
  /** @deprecated use the store's executor operations */
  sqlite: Database.Database;
  /** @deprecated use the store's executor operations */
  db: Db;
};

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

export function openStore(file: string, options: OpenStoreOptions = {}): Store {
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
  const db = drizzle(sqlite, { schema });
  if (mode !== 'read-only') {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    migrate(db, { migrationsFolder: migrationsFolders.sqlite });
  }
  return Object.assign(new SqliteStore(sqlite), { sqlite, db });
}

/** Where the data lives: a SQLite file, or a PostgreSQL database (`postgres://` or `postgresql://`). */
export type StoreTarget = { file: string } | { url: string };

export interface ConnectStoreOptions extends OpenStoreOptions, PostgresStoreOptions {}

/**
 * Opens the store the target names and brings its schema up to date (see `OpenStoreOptions.mode`).
 * On PostgreSQL the migrations run on a connection of their own under an advisory lock: daemons
 * started together migrate one after the other, and the later ones find nothing left to do.
 */
export async function connectStore(target: StoreTarget, options: ConnectStoreOptions = {}): Promise<StoreContract> {
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
