import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore } from '../../src/store/db.js';
import { prepared, type Store } from '../../src/store/executor.js';
import { isPostgresTested } from '../../support/postgres.js';
import { postgresBinDir, startPostgresServer, type PostgresServer } from '../../support/postgres-server.js';
import { findFreePort } from '../helpers/redis.js';

// The PostgreSQL store across a server restart (the test's own server in a temp dir).
const isRunnable = (await isPostgresTested()) && (postgresBinDir !== null || process.env.CI === 'true');

describe.skipIf(!isRunnable)('the PostgreSQL store when its server restarts', () => {
  let server: PostgresServer;
  let store: Store;
  beforeAll(async () => {
    server = await startPostgresServer(await findFreePort());
    store = await connectStore({ url: server.url }, { max: 4 });
    await store.run(sql`CREATE TABLE marks (id integer PRIMARY KEY)`);
  }, 60_000);
  afterAll(async () => {
    await store?.close().catch(() => {});
    await server?.stop();
  });

  it('a statement and a transaction after a restart run on new connections', async () => {
    // Fill the pool with connections the restart will end.
    await Promise.all(Array.from({ length: 4 }, () => store.get(sql`SELECT pg_sleep(0.05)`)));
    await server.restart();
    expect(await store.get(sql`SELECT 1 AS ok`)).toEqual({ ok: 1 });
    expect(await store.transaction((tx) => tx.get(sql`SELECT 2 AS ok`))).toEqual({ ok: 2 });
  }, 60_000);

  it('a transaction whose connection is lost before COMMIT runs again as a whole, its writes once', async () => {
    let runs = 0;
    const result = await store.transaction(async (tx) => {
      runs += 1;
      await tx.run(sql`INSERT INTO marks (id) VALUES (1)`);
      // The first run's connection sits checked out between statements while the server restarts.
      if (runs === 1) await server.restart();
      await tx.run(sql`INSERT INTO marks (id) VALUES (2)`);
      return runs;
    });
    expect(result).toBe(2);
    expect(await store.all(sql`SELECT id FROM marks ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
  }, 60_000);

  it('a prepared statement runs again after a restart: each new connection prepares it anew', async () => {
    // Four at once, each holding its connection a moment: every pooled connection prepares it.
    const plusOne = (n: number) => store.get<{ n: number }>(prepared(sql`SELECT n + 1 AS n FROM (SELECT ${n}::int AS n, pg_sleep(0.05)) AS s`));
    expect(await Promise.all([1, 2, 3, 4].map(plusOne))).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
    await server.restart();
    expect(await Promise.all([5, 6, 7, 8].map(plusOne))).toEqual([{ n: 6 }, { n: 7 }, { n: 8 }, { n: 9 }]);
    expect(await store.transaction((tx) => tx.get(prepared(sql`SELECT n + 1 AS n FROM (SELECT ${9}::int AS n, pg_sleep(0.05)) AS s`)))).toEqual({ n: 10 });
  }, 60_000);

  it('a repeatable statement whose connection is lost while it runs runs again on a new connection; another statement fails', async () => {
    // A sequence counts the runs: nextval is not rolled back with the statement the restart ends.
    await store.run(sql`CREATE SEQUENCE runs`);
    const whileRunning = async (statement: Promise<unknown>) => {
      const isRunning = async () =>
        (await store.get<{ n: number }>(sql`SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`))!.n > 0;
      while (!(await isRunning())) await new Promise((resolve) => setTimeout(resolve, 20));
      await server.restart();
      return statement;
    };
    const slowRun = sql`SELECT run FROM (SELECT nextval('runs') AS run, CASE WHEN nextval('runs') % 4 = 2 THEN pg_sleep(30) END) AS s`;
    // The first run (runs 1, 2) sleeps and is ended by the restart; the second (3, 4) does not sleep.
    expect(await whileRunning(store.allRepeatable(prepared(slowRun)))).toEqual([{ run: 3 }]);
    // The next run (5, 6) sleeps: not repeatable, its lost connection reaches the caller.
    const failed = store.all(slowRun).then(
      () => null,
      (error: unknown) => error,
    );
    expect(await whileRunning(failed)).toBeInstanceOf(Error);
    expect(await store.get(sql`SELECT last_value FROM runs`)).toEqual({ last_value: 6 });
  }, 60_000);

  it('an error that is not a lost connection is not retried', async () => {
    let runs = 0;
    await expect(
      store.transaction(async (tx) => {
        runs += 1;
        await tx.run(sql`INSERT INTO marks (id) VALUES (1)`);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(runs).toBe(1);
  });
});
