import { AsyncLocalStorage } from 'node:async_hooks';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { bindValue, type Executor, type Row, type Store, type TransactionOptions } from './executor.js';

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

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.location = describePostgresUrl(url);
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
    return this.query(this.pool, query).then((result) => result.rows as T[]);
  }

  get<T = Row>(query: SQL): Promise<T | undefined> {
    return this.all<T>(query).then((rows) => rows[0]);
  }

  run(query: SQL): Promise<number> {
    const tx = this.inside.getStore();
    if (tx) return tx.run(query);
    return this.query(this.pool, query).then((result) => result.rowCount ?? 0);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.inside.getStore()) throw new Error('store.transaction: already inside a transaction; pass its tx on');
    const client = await this.pool.connect();
    const tx: Executor = {
      dialect: 'postgres',
      all: async <R>(query: SQL) => (await this.query(client, query)).rows as R[],
      get: async <R>(query: SQL) => (await this.query(client, query)).rows[0] as R | undefined,
      run: async (query: SQL) => (await this.query(client, query)).rowCount ?? 0,
    };
    let broken = false;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
      try {
        const result = await this.inside.run(tx, () => fn(tx));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      }
    } catch (error) {
      broken ||= isConnectionError(error);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private query(client: pg.Pool | pg.PoolClient, query: SQL): Promise<pg.QueryResult> {
    const compiled = this.compiler.sqlToQuery(query);
    return client.query(compiled.sql, compiled.params.map(bindValue));
  }
}

/** Errors after which a pooled connection must not be reused. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || code.startsWith('08') || code === '57P01' || code === 'ECONNRESET';
}
