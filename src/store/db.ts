import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { InputError } from '../errors.js';
import { tightenDataDir, touchPrivateFile } from '../files.js';
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
const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

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
    migrate(db, { migrationsFolder });
  }
  return Object.assign(new SqliteStore(sqlite), { sqlite, db });
}

export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'lifecycle.db');
}
