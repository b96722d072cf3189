import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { bindValue, type Executor, type Row, type Store, type TransactionOptions } from './executor.js';

/** Distinct statements are few (the code's own); a query built with a variable IN list could add more. */
const statementCacheSize = 500;

/**
 * The SQLite backend: one better-sqlite3 connection, statements prepared once and cached.
 *
 * One connection means one transaction at a time per process: `transaction()` takes an in-process
 * lock, so a statement of another job never lands inside someone else's transaction, and waits
 * for the commit instead. Other processes (a CLI import beside the daemon) are kept out by
 * `BEGIN IMMEDIATE`, which takes the database's write lock at the start (waiting up to the busy
 * timeout): read-check-write inside a transaction is serializable here.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly location: string;
  private readonly compiler = new SQLiteSyncDialect();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly inside = new AsyncLocalStorage<SqliteStore>();
  /** Transactions holding or waiting for the connection. */
  private waiting = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly direct: Executor;

  constructor(readonly connection: Database.Database) {
    this.location = connection.name;
    this.direct = {
      dialect: 'sqlite',
      all: async <T>(query: SQL) => this.statement(query, (s, p) => s.all(...p) as T[]),
      get: async <T>(query: SQL) => this.statement(query, (s, p) => s.get(...p) as T | undefined),
      run: async (query: SQL) => this.statement(query, (s, p) => s.run(...p).changes),
    };
  }

  all<T = Row>(query: SQL): Promise<T[]> {
    return this.whenFree(() => this.direct.all<T>(query));
  }

  get<T = Row>(query: SQL): Promise<T | undefined> {
    return this.whenFree(() => this.direct.get<T>(query));
  }

  run(query: SQL): Promise<number> {
    return this.whenFree(() => this.direct.run(query));
  }

  /** As `all`: a file in this process has no connection to lose. */
  allRepeatable<T = Row>(query: SQL): Promise<T[]> {
    return this.all<T>(query);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>, _options?: TransactionOptions): Promise<T> {
    if (this.inside.getStore() === this) throw new Error('store.transaction: already inside a transaction; pass its tx on');
    const release = await this.acquire();
    try {
      this.connection.exec('BEGIN IMMEDIATE');
      try {
        const result = await this.inside.run(this, () => fn(this.direct));
        this.connection.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.connection.inTransaction) this.connection.exec('ROLLBACK');
        throw error;
      }
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    if (this.waiting > 0) await this.queue;
    this.statements.clear();
    if (this.connection.open) this.connection.close();
  }

  private statement<T>(query: SQL, execute: (statement: Database.Statement, params: unknown[]) => T): T {
    const compiled = this.compiler.sqlToQuery(query);
    let statement = this.statements.get(compiled.sql);
    if (!statement) {
      if (this.statements.size >= statementCacheSize) this.statements.clear();
      statement = this.connection.prepare(compiled.sql);
      this.statements.set(compiled.sql, statement);
    }
    return execute(statement, compiled.params.map(bindValue));
  }

  /** A statement outside any transaction runs at once unless one holds the connection. */
  private async whenFree<T>(op: () => Promise<T>): Promise<T> {
    if (this.waiting === 0 || this.inside.getStore() === this) return op();
    const release = await this.acquire();
    try {
      return await op();
    } finally {
      release();
    }
  }

  private async acquire(): Promise<() => void> {
    this.waiting += 1;
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    return () => {
      this.waiting -= 1;
      release();
    };
  }
}
