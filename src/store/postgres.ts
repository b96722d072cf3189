import { AsyncLocalStorage } from 'node:async_hooks';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { bindValue, isPrepared, type Executor, type Row, type Store, type TransactionOptions } from './executor.js';

/** int8 (bigint: count(*), sums) as a number: every count and sum here stays far below 2^53. */
const int8Oid = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === int8Oid ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** `postgres://user:secret@host:5432/db?…` → `postgres://host:5432/db`: never a credential in a message. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgres://${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  applicationName?: string;
  /** Every transaction read-only (`default_transaction_read_only`): a reader that cannot write by mistake. */
  readOnly?: boolean;
  /**
   * How long a connection lost to the server (a restart, a failover) is tried again before the
   * error reaches the caller (default 20,000 ms); see `transaction` for what is retried.
   */
  reconnectMs?: number;
}

/**
 * The PostgreSQL backend: a node-postgres pool, queries compiled by drizzle's PostgreSQL dialect.
 * A transaction holds one pooled connection from BEGIN to COMMIT; statements outside any
 * transaction take any free connection. Where SQLite's single writer made a read-check-write
 * safe, the operations say what does here (a unique key, `FOR UPDATE`, an isolation level).
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly location: string;
  readonly pool: pg.Pool;
  private readonly compiler = new PgDialect();
  private readonly inside = new AsyncLocalStorage<Executor>();
  private readonly reconnectMs: number;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.location = describePostgresUrl(url);
    this.reconnectMs = options.reconnectMs ?? 20_000;
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      application_name: options.applicationName ?? 'membership-lifecycle',
      types,
      ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
    // An idle connection that the server drops (a PostgreSQL restart) is replaced on next use.
    this.pool.on('error', () => {});
  }

  all<T = Row>(query: SQL): Promise<T[]> {
    const tx = this.inside.getStore();
    if (tx) return tx.all<T>(query);
    return this.statement(query).then((result) => result.rows as T[]);
  }

  get<T = Row>(query: SQL): Promise<T | undefined> {
    return this.all<T>(query).then((rows) => rows[0]);
  }

  run(query: SQL): Promise<number> {
    const tx = this.inside.getStore();
    if (tx) return tx.run(query);
    return this.statement(query).then((result) => result.rowCount ?? 0);
  }

  allRepeatable<T = Row>(query: SQL): Promise<T[]> {
    const tx = this.inside.getStore();
    if (tx) return tx.all<T>(query);
    return this.retrying(() => this.statement(query, true)).then((result) => result.rows as T[]);
  }

  /**
   * Runs `fn` in one transaction on one pooled connection. When the connection is lost before
   * COMMIT is sent (the server restarted, a connection it terminated, or none to be had while it
   * starts), nothing was committed: the whole transaction runs again on a new connection, until
   * `reconnectMs` has passed. A connection lost during COMMIT is not retried (the commit may have
   * happened): the caller's own retry meets the ledger keys that make a second run take no effect.
   */
  async transaction<T>(fn: (tx: Executor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.inside.getStore()) throw new Error('store.transaction: already inside a transaction; pass its tx on');
    return this.retrying(() => this.transactionOnce(fn, options));
  }

  private async transactionOnce<T>(fn: (tx: Executor) => Promise<T>, options: TransactionOptions): Promise<T> {
    const client = await this.connect();
    // A server that ends the connection while it is checked out but between queries makes the
    // client emit 'error': unhandled, that would end the process.
    let lost: unknown = null;
    const onError = (error: unknown) => {
      lost ??= error;
    };
    client.on('error', onError);
    const tx: Executor = {
      dialect: 'postgres',
      all: async <R>(query: SQL) => (await this.query(client, query)).rows as R[],
      get: async <R>(query: SQL) => (await this.query(client, query)).rows[0] as R | undefined,
      run: async (query: SQL) => (await this.query(client, query)).rowCount ?? 0,
    };
    let broken = false;
    let isCommitting = false;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
      try {
        const result = await this.inside.run(tx, () => fn(tx));
        isCommitting = true;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      }
    } catch (error) {
      broken ||= lost !== null || isConnectionError(error);
      // Lost before COMMIT: rolled back by the server, safe to run again (see `transaction`).
      if (!isCommitting && (isTransient(error) || (lost !== null && isTransient(lost)))) throw new LostConnection(error);
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * A statement outside any transaction. Only getting a connection is retried (nothing was sent
   * yet); a statement that fails on its connection may have taken effect, and throws, unless it
   * is `isRepeatable` (allRepeatable): then a lost connection is a LostConnection, run again.
   */
  private async statement(query: SQL, isRepeatable = false): Promise<pg.QueryResult> {
    // A repeatable statement is retried whole by its caller, getting a connection included.
    const client = await (isRepeatable ? this.connect() : this.retrying(() => this.connect()));
    let lost: unknown = null;
    const onError = (error: unknown) => {
      lost ??= error;
    };
    client.on('error', onError);
    let broken = false;
    try {
      return await this.query(client, query);
    } catch (error) {
      broken = isConnectionError(error);
      // It may have committed before the connection went: only a statement whose second run then takes no effect goes again.
      if (isRepeatable && (isTransient(error) || (lost !== null && isTransient(lost)))) throw new LostConnection(error);
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken || lost !== null);
    }
  }

  /** A pooled connection; none to be had from a server that is away is a LostConnection. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw isTransient(error) ? new LostConnection(error) : error;
    }
  }

  /** Runs `attempt` again while it throws LostConnection, until `reconnectMs` has passed; then its cause. */
  private async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.reconnectMs;
    for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof LostConnection)) throw error;
        if (this.isClosed || Date.now() + pause > deadline) throw error.cause;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private isClosed = false;

  async close(): Promise<void> {
    this.isClosed = true;
    await this.pool.end();
  }

  /** The name of each prepared statement's text, the same in every connection of this store. */
  private readonly statementNames = new Map<string, string>();

  private query(client: pg.Pool | pg.PoolClient, query: SQL): Promise<pg.QueryResult> {
    const compiled = this.compiler.sqlToQuery(query);
    const values = compiled.params.map(bindValue);
    if (!isPrepared(query)) return client.query(compiled.sql, values);
    // A named statement: node-postgres parses it on a connection the first time the connection
    // runs it (a new connection after a reconnect too), then only binds and executes it.
    let name = this.statementNames.get(compiled.sql);
    if (name === undefined) {
      name = `lifecycle_${this.statementNames.size + 1}`;
      this.statementNames.set(compiled.sql, name);
    }
    return client.query({ name, text: compiled.sql, values });
  }
}

/** A connection lost to the server before anything was committed: see `PostgresStore.transaction`. */
class LostConnection extends Error {
  constructor(override readonly cause: unknown) {
    super('connection to PostgreSQL lost', { cause });
  }
}

/**
 * The server went away or is not there yet, rather than refusing the work: its connection failure
 * classes (08…), an administrator's shutdown or crash (57P01–57P03: a restart), the socket refused
 * or reset, and node-postgres's own "Connection terminated" (no code).
 */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    return code.startsWith('08') || ['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code);
  }
  return error instanceof Error && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(error.message);
}

/** Errors after which a pooled connection must not be reused. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || code.startsWith('08') || code === '57P01' || code === 'ECONNRESET';
}
