import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore } from '../../src/store/db.js';
import type { Store } from '../../src/store/executor.js';
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
