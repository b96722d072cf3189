import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectStore, type ConnectStoreOptions, type StoreTarget } from '../src/store/db.js';
import type { Dialect, Store } from '../src/store/executor.js';
import { createTestDatabase, isPostgresTested } from './postgres.js';

/**
 * The store backends a suite runs on: `describe.each(await storeBackends())('… on $name', …)`.
 * SQLite always; PostgreSQL when it answers (see `isPostgresTested`: under CI=true it must).
 */
export interface StoreBackend {
  readonly name: Dialect;
  /** A new, empty place for a store: a SQLite file in a new temp dir, or a new database. */
  create(): Promise<StorePlace>;
}

export interface StorePlace {
  readonly dialect: Dialect;
  /** What `connectStore` opens. */
  readonly target: StoreTarget;
  /** A SQLite file's path, or the database's URL (credentials included: for connecting, not for printing). */
  readonly address: string;
  /** connectStore on this place (the first one migrates it); closed by drop() if still open. */
  connect(options?: ConnectStoreOptions): Promise<Store>;
  /** Closes what connect() opened, then deletes the file's dir or drops the database. */
  drop(): Promise<void>;
}

function place(dialect: Dialect, target: StoreTarget, remove: () => Promise<void>): StorePlace {
  const opened = new Set<Store>();
  return {
    dialect,
    target,
    address: 'file' in target ? target.file : target.url,
    async connect(options) {
      const store = await connectStore(target, options);
      opened.add(store);
      return store;
    },
    async drop() {
      // A store the test closed already: closing it again is refused (a pool ends once), and ignored.
      for (const store of opened) await store.close().catch(() => {});
      await remove();
    },
  };
}

export const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(path.join(tmpdir(), 'lifecycle-store-'));
    return place('sqlite', { file: path.join(dir, 'lifecycle.db') }, async () => rmSync(dir, { recursive: true, force: true }));
  },
};

export const postgresBackend: StoreBackend = {
  name: 'postgres',
  async create() {
    const database = await createTestDatabase();
    return place('postgres', { url: database.url }, () => database.drop());
  },
};

export async function storeBackends(): Promise<StoreBackend[]> {
  return (await isPostgresTested()) ? [sqliteBackend, postgresBackend] : [sqliteBackend];
}
