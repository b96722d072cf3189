import type { SQL } from 'drizzle-orm';

/**
 * The store layer's one contract with its backends. Every operation in `src/store/` takes an
 * `Executor` as its first argument: the store itself (each statement on its own) or the `tx` of a
 * `store.transaction(...)`, so one transaction can span operations of several modules. Queries
 * are drizzle `sql` templates, compiled for the backend's dialect (placeholders, quoting).
 *
 * Values cross as the same JavaScript types on both backends: text as strings, integers as numbers
 * (PostgreSQL's bigint counts too), booleans stored as 0/1 integers, dates as `YYYY-MM-DD` text and
 * instants as ISO-8601 text. Rows come back with the columns' snake_case names.
 */
export type Dialect = 'sqlite' | 'postgres';

export type Row = Record<string, unknown>;

export interface Executor {
  readonly dialect: Dialect;
  /** Every row the query returns. */
  all<T = Row>(query: SQL): Promise<T[]>;
  /** The first row, or undefined. */
  get<T = Row>(query: SQL): Promise<T | undefined>;
  /** Runs a statement; resolves to the number of rows it inserted, updated or deleted. */
  run(query: SQL): Promise<number>;
}

export interface TransactionOptions {
  /**
   * PostgreSQL isolation level (default `read committed`). SQLite transactions are always
   * serializable: `BEGIN IMMEDIATE` takes the database's one write lock at the start.
   */
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
}

export interface Store extends Executor {
  /**
   * Every row of one statement run on its own (autocommit, atomic by itself). Only for a statement
   * that takes no effect when run a second time after the first committed (a write conditional on
   * the state it changes): on PostgreSQL a connection lost before the answer came runs it again on
   * a new connection, as a transaction lost before COMMIT is (`reconnectMs`), where `all` throws.
   * Inside a transaction it joins it, as `all` does.
   */
  allRepeatable<T = Row>(query: SQL): Promise<T[]>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Inside
   * it use `tx`; a statement on the store itself from within `fn` joins the transaction too.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Where the data lives, without credentials: a file path or `postgres://host:port/db`. */
  readonly location: string;
  close(): Promise<void>;
}

const preparedQueries = new WeakSet<SQL>();

/**
 * Marks a statement that runs for every job (a notice's claim, its sent mark) to be prepared: on
 * PostgreSQL a named statement, parsed and planned once per connection instead of at every run
 * (node-postgres prepares it again on each new connection, a reconnect's too); SQLite prepares and
 * caches every statement anyway. Only for a query whose text takes a few shapes (no inline list):
 * each text is a statement the server keeps for the connection's life. Name the columns a
 * prepared query returns rather than `*`: a column added by a migration would change the result
 * of a statement prepared before it, which PostgreSQL refuses ("cached plan must not change
 * result type").
 */
export function prepared(query: SQL): SQL {
  preparedQueries.add(query);
  return query;
}

export function isPrepared(query: SQL): boolean {
  return preparedQueries.has(query);
}

/** Booleans travel as 0/1 on both backends (better-sqlite3 binds no booleans). */
export function bindValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}
