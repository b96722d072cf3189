import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;

export interface Store {
  /** The drizzle handle, for queries that are not on a hot path. */
  db: Db;
  /** The raw connection, for prepared statements on hot paths (import, scan pages). */
  sqlite: Database.Database;
  close(): void;
}

/** `src/store` and `dist/store` are both two levels below the package root. */
const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

export function openStore(file: string, options: { busyTimeoutMs?: number } = {}): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // An import holds the write lock for seconds; daemons wait for it rather than fail.
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 30_000}`);
  sqlite.pragma('foreign_keys = ON');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder });
  return {
    db,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'lifecycle.db');
}
